"""Colour statistics of the product in a photo, for the photo colour model.

Catalog photos are products on a white studio background. The statistics
weigh each pixel by how likely it belongs to the product: not near-white,
and near the centre (a Gaussian falloff), then describe its colours in CIE
Lab, where distances follow what people call different colours:

* a joint L x a x b histogram (coarse), square-rooted (Hellinger);
* finer marginal histograms of L, a, b and of the hue angle (chroma-weighted);
* the weighted mean and spread of L, a, b, the foreground share and mean chroma.

numpy only; the input is the encoder's uint8 NCHW batch, so the statistics
see exactly the pixels the encoder sees.
"""
import numpy as np

JOINT_BINS = (4, 6, 6)          # L, a, b
MARGINAL_BINS = (10, 12, 12)    # L, a, b
HUE_BINS = 18
AB_RANGE = 80.0                 # a and b are clipped to [-80, 80]
# Background: very light and almost colourless (the studio white, the letterbox).
WHITE_L = 93.0
WHITE_CHROMA = 6.0
CENTRE_SIGMA = 0.3              # of the height and width
DIM = int(np.prod(JOINT_BINS)) + sum(MARGINAL_BINS) + HUE_BINS + 8


_MATRIX = np.asarray([[0.4124564, 0.3575761, 0.1804375],
                      [0.2126729, 0.7151522, 0.0721750],
                      [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32)
_WHITE_POINT = np.asarray([0.95047, 1.0, 1.08883], dtype=np.float32)


def _to_linear(rgb):
    return np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)


# sRGB -> linear of every uint8 value: a lookup instead of a power per pixel (same values).
_LINEAR = _to_linear(np.arange(256, dtype=np.float32) / np.float32(255.0)).astype(np.float32)


def _linear_to_lab(linear):
    xyz = linear @ _MATRIX.T / _WHITE_POINT
    f = np.cbrt(xyz)
    dark = xyz <= 0.008856
    f[dark] = 7.787 * xyz[dark] + 16 / 116
    lab = np.empty_like(f)
    np.subtract(116 * f[..., 1], 16, out=lab[..., 0])
    np.multiply(500, f[..., 0] - f[..., 1], out=lab[..., 1])
    np.multiply(200, f[..., 1] - f[..., 2], out=lab[..., 2])
    return lab.astype(np.float32, copy=False)


def rgb_to_lab(rgb):
    """(..., 3) floats in [0, 1] sRGB -> (..., 3) CIE Lab (D65)."""
    return _linear_to_lab(_to_linear(rgb))


# Pure white (the letterbox, most of the studio background) has one Lab value.
_WHITE_LAB = _linear_to_lab(_LINEAR[np.full((1, 3), 255)])[0]


def _lab_of_planes(red, green, blue):
    """Lab (m, 3) of flat uint8 colour planes, equal to rgb_to_lab(rgb / 255); pure white
    pixels, a good half of a letterboxed photo, are not converted one by one."""
    lab = np.empty((len(red), 3), np.float32)
    lab[:] = _WHITE_LAB
    coloured = np.flatnonzero((red & green & blue) != 255)
    linear = np.stack([_LINEAR[red[coloured]], _LINEAR[green[coloured]], _LINEAR[blue[coloured]]],
                      axis=1)
    lab[coloured] = _linear_to_lab(linear)
    return lab


def _centre_weights(height, width):
    y = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
    x = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
    g = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * CENTRE_SIGMA ** 2))
    return g.ravel()


def _bin(values, bins, low, high):
    return np.clip(((values - low) / (high - low) * bins).astype(np.int64), 0, bins - 1)


def colour_statistics(batch_uint8):
    """(n, 3, H, W) uint8 RGB -> (n, DIM) float32 colour statistics of the product."""
    batch = np.asarray(batch_uint8)
    n, _, height, width = batch.shape
    pixels = height * width
    planes = batch.reshape(n, 3, pixels).transpose(1, 0, 2).reshape(3, -1)
    lab = _lab_of_planes(*planes).reshape(n, pixels, 3)
    L, a, b = lab[..., 0], np.clip(lab[..., 1], -AB_RANGE, AB_RANGE), np.clip(lab[..., 2], -AB_RANGE, AB_RANGE)
    chroma = np.hypot(a, b)
    foreground = ~((L > WHITE_L) & (chroma < WHITE_CHROMA))
    centre = _centre_weights(height, width)
    weights = foreground * centre[None, :]
    # An all-white product has no "foreground": describe the whole centre instead.
    empty = weights.sum(axis=1) < 1e-6
    weights[empty] = centre
    weights = weights / weights.sum(axis=1, keepdims=True)

    # Histograms over the weighed pixels only: background adds nothing to a bin.
    flat = weights.ravel()
    chosen = np.flatnonzero(flat)
    offset = chosen // pixels
    w, Lc, ac, bc = flat[chosen], L.ravel()[chosen], a.ravel()[chosen], b.ravel()[chosen]

    def histogram(index, bins, weight=w):
        return np.bincount(index + bins * offset, weights=weight,
                           minlength=n * bins).reshape(n, bins)

    lb, ab_bins, bb = JOINT_BINS
    joint = histogram((_bin(Lc, lb, 0, 100) * ab_bins + _bin(ac, ab_bins, -AB_RANGE, AB_RANGE)) * bb
                      + _bin(bc, bb, -AB_RANGE, AB_RANGE), lb * ab_bins * bb)
    marginals = [histogram(_bin(Lc, MARGINAL_BINS[0], 0, 100), MARGINAL_BINS[0]),
                 histogram(_bin(ac, MARGINAL_BINS[1], -AB_RANGE, AB_RANGE), MARGINAL_BINS[1]),
                 histogram(_bin(bc, MARGINAL_BINS[2], -AB_RANGE, AB_RANGE), MARGINAL_BINS[2])]
    hue = (np.arctan2(bc, ac) + np.pi) / (2 * np.pi)
    hue_hist = histogram(_bin(hue, HUE_BINS, 0, 1), HUE_BINS,
                         w * np.minimum(chroma.ravel()[chosen] / 30, 1))

    values = np.stack([L, a, b], axis=-1)
    mean = np.einsum("np,npc->nc", weights, values)
    spread = np.sqrt(np.maximum(np.einsum("np,npc->nc", weights, values ** 2) - mean ** 2, 0))
    share = foreground.mean(axis=1, keepdims=True)
    mean_chroma = (weights * chroma).sum(axis=1, keepdims=True)
    summary = np.concatenate([mean / 50, spread / 50, share, mean_chroma / 50], axis=1)
    return np.concatenate([np.sqrt(joint), *[np.sqrt(m) for m in marginals],
                           np.sqrt(hue_hist), summary], axis=1).astype(np.float32)
