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


def rgb_to_lab(rgb):
    """(..., 3) floats in [0, 1] sRGB -> (..., 3) CIE Lab (D65)."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = np.asarray([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32)
    xyz = linear @ matrix.T / np.asarray([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                    200 * (f[..., 1] - f[..., 2])], axis=-1)
    return lab.astype(np.float32)


def _centre_weights(height, width):
    y = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
    x = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
    g = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * CENTRE_SIGMA ** 2))
    return g.ravel()


def _histograms(values, weights, bins, low, high):
    """Weighted histograms of each row of `values` (n, p) into `bins` bins."""
    n = values.shape[0]
    idx = np.clip(((values - low) / (high - low) * bins).astype(np.int64), 0, bins - 1)
    flat = (idx + bins * np.arange(n)[:, None]).ravel()
    return np.bincount(flat, weights=weights.ravel(), minlength=n * bins).reshape(n, bins)


def colour_statistics(batch_uint8):
    """(n, 3, H, W) uint8 RGB -> (n, DIM) float32 colour statistics of the product."""
    batch = np.asarray(batch_uint8)
    n, _, height, width = batch.shape
    rgb = batch.reshape(n, 3, -1).transpose(0, 2, 1).astype(np.float32) / 255.0
    lab = rgb_to_lab(rgb)
    L, a, b = lab[..., 0], np.clip(lab[..., 1], -AB_RANGE, AB_RANGE), np.clip(lab[..., 2], -AB_RANGE, AB_RANGE)
    chroma = np.hypot(a, b)
    foreground = ~((L > WHITE_L) & (chroma < WHITE_CHROMA))
    weights = foreground * _centre_weights(height, width)[None, :]
    # An all-white product has no "foreground": describe the whole centre instead.
    empty = weights.sum(axis=1) < 1e-6
    weights[empty] = _centre_weights(height, width)
    weights = weights / weights.sum(axis=1, keepdims=True)

    lb, ab_bins, bb = JOINT_BINS
    li = np.clip((L / 100 * lb).astype(np.int64), 0, lb - 1)
    ai = np.clip(((a + AB_RANGE) / (2 * AB_RANGE) * ab_bins).astype(np.int64), 0, ab_bins - 1)
    bi = np.clip(((b + AB_RANGE) / (2 * AB_RANGE) * bb).astype(np.int64), 0, bb - 1)
    joint_bins = (li * ab_bins + ai) * bb + bi
    joint = _histograms(joint_bins.astype(np.float32) + 0.5, weights, lb * ab_bins * bb,
                        0, lb * ab_bins * bb)
    marginals = [_histograms(L, weights, MARGINAL_BINS[0], 0, 100),
                 _histograms(a, weights, MARGINAL_BINS[1], -AB_RANGE, AB_RANGE),
                 _histograms(b, weights, MARGINAL_BINS[2], -AB_RANGE, AB_RANGE)]
    hue = (np.arctan2(b, a) + np.pi) / (2 * np.pi)
    hue_hist = _histograms(hue, weights * np.minimum(chroma / 30, 1), HUE_BINS, 0, 1)

    mean = np.einsum("np,npc->nc", weights, np.stack([L, a, b], axis=-1))
    spread = np.sqrt(np.maximum(np.einsum("np,npc->nc", weights, np.stack(
        [L, a, b], axis=-1) ** 2) - mean ** 2, 0))
    share = foreground.mean(axis=1, keepdims=True)
    mean_chroma = (weights * chroma).sum(axis=1, keepdims=True)
    summary = np.concatenate([mean / 50, spread / 50, share, mean_chroma / 50], axis=1)
    return np.concatenate([np.sqrt(joint), *[np.sqrt(m) for m in marginals],
                           np.sqrt(hue_hist), summary], axis=1).astype(np.float32)
