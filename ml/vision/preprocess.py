"""Image loading and preprocessing shared by training, extraction and search.

One function turns any photo into the network's input so that the training
loop, the batch extractor and a request handler see exactly the same pixels:
decode -> RGB -> reduce to fit `reduce_to` -> letterbox onto white at the
model's (height, width) -> uint8 CHW array. Scaling to the model's value range
happens on the batch (`normalise`; the exported ONNX graph does it itself).

Why reduce first: the catalog has 180x240 photos for some products and only
the 60x80 Kaggle "small" photo for most. Bringing every photo down to 60x80
(Lanczos, the filter whose output is closest to the real small photos) before
the network sees it makes a large and a small photo of the same product give
nearly the same embedding, so a query of either size finds neighbours by what
they show, not by their resolution.

numpy and Pillow only: the web process never imports torch.
"""
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Catalog photos are product shots on white, so letterbox padding is white too.
PAD_COLOUR = (255, 255, 255)


class ImageError(ValueError):
    """The input is not a readable image (missing, not an image, truncated)."""


@dataclass(frozen=True)
class Preprocess:
    """How one encoder wants its pixels. Stored inside every checkpoint."""

    height: int = 128
    width: int = 96
    mean: tuple = (0.5, 0.5, 0.5)   # [-1, 1] scaling, as the TF Lite0 weights expect
    std: tuple = (0.5, 0.5, 0.5)
    # (height, width) every larger photo is first reduced to fit; () keeps full resolution.
    reduce_to: tuple = (80, 60)

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data):
        return cls(height=int(data["height"]), width=int(data["width"]),
                   mean=tuple(float(x) for x in data["mean"]),
                   std=tuple(float(x) for x in data["std"]),
                   reduce_to=tuple(int(x) for x in data.get("reduce_to") or ()))


LITE0 = Preprocess()
IMAGENET = Preprocess(height=224, width=168, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                      reduce_to=())


def open_image(source):
    """A fully decoded RGB PIL image from a path, bytes, file object or PIL image.

    Raises ImageError for anything that is not a complete, decodable image,
    so callers have one exception to handle.
    """
    if isinstance(source, Image.Image):
        image = source
    else:
        try:
            if isinstance(source, (bytes, bytearray)):
                source = io.BytesIO(source)
            elif isinstance(source, (str, Path)):
                source = Path(source)
            elif hasattr(source, "seek"):
                try:
                    source.seek(0)
                except (OSError, ValueError):
                    pass
            image = Image.open(source)
            # Truncated files must fail here, not produce a half-grey photo.
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            image.load()
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageError(f"not a readable image: {exc}") from exc
    try:
        if image.mode != "RGB":
            image = image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot convert image to RGB: {exc}") from exc
    if image.width < 1 or image.height < 1:
        raise ImageError("empty image")
    return image


def to_uint8(image, spec=LITE0):
    """Reduce, then letterbox an RGB image onto white at (spec.height, spec.width): uint8 CHW."""
    image = open_image(image)
    if spec.reduce_to:
        height, width = spec.reduce_to
        if image.width > width or image.height > height:
            image = ImageOps.contain(image, (width, height), method=Image.LANCZOS)
    if image.size != (spec.width, spec.height):
        image = ImageOps.pad(image, (spec.width, spec.height), method=Image.BILINEAR,
                             color=PAD_COLOUR)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))


def normalise(batch_uint8, spec=LITE0):
    """uint8 NCHW batch -> float32 batch scaled as the encoder expects."""
    x = np.asarray(batch_uint8, dtype=np.float32) / 255.0
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(spec.std, dtype=np.float32).reshape(1, 3, 1, 1)
    return (x - mean) / std
