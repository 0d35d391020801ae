"""A small colour descriptor that is concatenated to the CNN embedding.

CNN features trained on article types are largely colour-blind (a navy shirt
and a red shirt are both "Shirts"), so "same type AND same colour" search
needs colour added explicitly. The descriptor is an HSV histogram of the
centre of the photo, where the product is, ignoring the white studio
background. Hellinger-normalised (sqrt of an L1-normalised histogram), so
it has unit L2 norm and its dot product is the Bhattacharyya similarity.
"""
import torch

HUE_BINS = 12
SAT_BINS = 2
VAL_BINS = 2
GREY_BINS = 5
DIM = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS   # 53

CENTRE = 0.6              # keep the middle 60% of height and width
WHITE = 0.92              # background: value above this and saturation below SAT_GREY
SAT_GREY = 0.12           # below this saturation a pixel counts as grey/black/white


def colour_histograms(batch_uint8):
    """(N, 3, H, W) uint8 RGB -> (N, DIM) float32, each row of unit L2 norm."""
    n, _, h, w = batch_uint8.shape
    dh, dw = int(h * (1 - CENTRE) / 2), int(w * (1 - CENTRE) / 2)
    x = batch_uint8[:, :, dh:h - dh, dw:w - dw].float().div(255.0).reshape(n, 3, -1)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    vmax, _ = x.max(dim=1)
    vmin, _ = x.min(dim=1)
    delta = vmax - vmin
    sat = torch.where(vmax > 0, delta / vmax.clamp_min(1e-6), torch.zeros_like(vmax))
    safe = delta.clamp_min(1e-6)
    hue = torch.where(vmax == r, ((g - b) / safe) % 6,
                      torch.where(vmax == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6.0
    hue = hue.clamp(0, 1 - 1e-6)

    grey = sat < SAT_GREY
    background = grey & (vmax > WHITE)
    chroma_bin = ((hue * HUE_BINS).long() * SAT_BINS * VAL_BINS
                  + (sat >= 0.5).long() * VAL_BINS
                  + (vmax >= 0.55).long())
    grey_bin = HUE_BINS * SAT_BINS * VAL_BINS + (vmax * GREY_BINS).long().clamp(max=GREY_BINS - 1)
    bins = torch.where(grey, grey_bin, chroma_bin)

    weight = (~background).float()
    # A photo that is all background (a white product) still gets a histogram.
    empty = weight.sum(dim=1) == 0
    weight[empty] = 1.0
    hist = torch.zeros(n, DIM, dtype=torch.float32)
    hist.scatter_add_(1, bins, weight)
    hist = hist / hist.sum(dim=1, keepdim=True)
    return hist.sqrt()
