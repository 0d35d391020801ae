"""A small colour descriptor that is concatenated to the CNN embedding.

CNN features trained on article types are largely colour-blind (a navy shirt
and a red shirt are both "Shirts"), so "same type AND same colour" search
needs colour added explicitly. The descriptor is an HSV histogram of the
centre of the photo, where the product is, ignoring the white studio
background. Hellinger-normalised (sqrt of an L1-normalised histogram), so
it has unit L2 norm and its dot product is the Bhattacharyya similarity.
"""
import numpy as np

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
    batch_uint8 = np.asarray(batch_uint8)
    n, _, h, w = batch_uint8.shape
    dh, dw = int(h * (1 - CENTRE) / 2), int(w * (1 - CENTRE) / 2)
    x = batch_uint8[:, :, dh:h - dh, dw:w - dw].astype(np.float32).reshape(n, 3, -1) / 255.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    vmax = x.max(axis=1)
    vmin = x.min(axis=1)
    delta = vmax - vmin
    sat = np.where(vmax > 0, delta / np.maximum(vmax, 1e-6), 0.0)
    safe = np.maximum(delta, 1e-6)
    hue = np.where(vmax == r, ((g - b) / safe) % 6,
                   np.where(vmax == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6.0
    hue = np.clip(hue, 0, 1 - 1e-6)

    grey = sat < SAT_GREY
    background = grey & (vmax > WHITE)
    chroma_bin = ((hue * HUE_BINS).astype(np.int64) * SAT_BINS * VAL_BINS
                  + (sat >= 0.5) * VAL_BINS
                  + (vmax >= 0.55))
    grey_bin = HUE_BINS * SAT_BINS * VAL_BINS + np.minimum((vmax * GREY_BINS).astype(np.int64),
                                                           GREY_BINS - 1)
    bins = np.where(grey, grey_bin, chroma_bin)

    weight = (~background).astype(np.float32)
    # A photo that is all background (a white product) still gets a histogram.
    weight[weight.sum(axis=1) == 0] = 1.0
    rows = (bins + DIM * np.arange(n)[:, None]).ravel()
    hist = np.bincount(rows, weights=weight.ravel(), minlength=n * DIM).reshape(n, DIM)
    hist /= hist.sum(axis=1, keepdims=True)
    return np.sqrt(hist).astype(np.float32)
