"""Image loading and preprocessing shared by training, extraction and search.

One function turns any photo into the network's input so that the training
loop, the batch extractor and a request handler see exactly the same pixels:
decode -> RGB -> letterbox onto white at the model's (height, width) ->
uint8 CHW tensor. Scaling to the model's value range happens on the batch
(`normalise`), so augmentation can work on the cheap uint8 form.
"""
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Catalog photos are product shots on white, so letterbox padding is white too.
PAD_COLOUR = (255, 255, 255)


class ImageError(ValueError):
    """The input is not a readable image (missing, not an image, truncated)."""


@dataclass(frozen=True)
class Preprocess:
    """How one encoder wants its pixels. Stored inside every checkpoint."""

    height: int = 160
    width: int = 120
    mean: tuple = (0.5, 0.5, 0.5)   # [-1, 1] scaling, as the TF Lite0 weights expect
    std: tuple = (0.5, 0.5, 0.5)

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data):
        return cls(height=int(data["height"]), width=int(data["width"]),
                   mean=tuple(float(x) for x in data["mean"]),
                   std=tuple(float(x) for x in data["std"]))


LITE0 = Preprocess()
IMAGENET = Preprocess(height=224, width=168, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


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
    """Letterbox an RGB image onto white at (spec.height, spec.width): uint8 tensor CHW."""
    image = open_image(image)
    if image.size != (spec.width, spec.height):
        image = ImageOps.pad(image, (spec.width, spec.height), method=Image.BILINEAR,
                             color=PAD_COLOUR)
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def normalise(batch_uint8, spec=LITE0):
    """uint8 NCHW batch -> float32 batch scaled as the encoder expects."""
    x = batch_uint8.float().div_(255.0)
    mean = torch.tensor(spec.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std
