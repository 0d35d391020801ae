"""The one gate every uploaded photo passes: product photos and photo search.

A file is accepted only if Pillow decodes it fully as one of the allowed
formats, within the byte limit and the pixel budget (read from the header,
before a pixel is decoded; see decode_upload). It is then re-encoded to a fresh
JPEG under a random name, which drops metadata and anything appended to the
file (polyglots), so what we store is never what was uploaded.
"""
import io
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
# Formats Pillow can decode at a reduced scale straight from the file.
DRAFT_FORMATS = {"JPEG"}
FULL_SIDE = 1200
# Photos only the models look at (photo search, the article-type guess) need no more.
ANALYSIS_SIDE = 480
THUMB_SIDE = 360
JPEG_QUALITY = 85
# A card shows its thumbnail at the thumbnail's own size, never stretched by the
# browser. A photo smaller than the card's box is enlarged for it once, at most
# 2x, with Lanczos: sharper than a browser's stretch, and not so far that the
# 60x80 catalog photos turn to blur (docs/screenshots compare the options).
CARD_BOX = (180, 240)
MAX_UPSCALE = 2


@dataclass
class CleanImage:
    image: Image.Image  # RGB, decoded and orientation-corrected
    full: ContentFile  # re-encoded JPEG for storage
    thumbnail: ContentFile


def _read_limited(upload, max_bytes):
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(
            f"The photo is {size / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.0f} MB.",
            code="too_large",
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(
            f"The photo is larger than the {max_bytes / 1_048_576:.0f} MB limit.", code="too_large"
        )
    if not data:
        raise ValidationError("The file is empty.", code="empty")
    return data


def _jpeg(image):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _encode(image, side):
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _jpeg(copy)


def card_upscale(size):
    """How much a photo of `size` is enlarged for its card thumbnail (1 = not at all)."""
    width, height = size
    return max(1.0, min(CARD_BOX[0] / width, CARD_BOX[1] / height, MAX_UPSCALE))


def card_thumbnail(image):
    """JPEG bytes of the card thumbnail of an RGB image."""
    scale = card_upscale(image.size)
    if scale == 1.0:
        return _encode(image, THUMB_SIDE)
    size = (round(image.width * scale), round(image.height * scale))
    return _jpeg(image.resize(size, Image.Resampling.LANCZOS))


def _refuse_too_many_pixels(image, max_pixels, max_decoded_pixels):
    """Refuse from the header alone, before any pixel is decoded."""
    width, height = image.size
    if width * height > max_pixels:
        raise ValidationError(
            f"The photo is {width}×{height} pixels; the limit is {max_pixels:,} pixels.",
            code="too_many_pixels",
        )
    if image.format not in DRAFT_FORMATS and width * height > max_decoded_pixels:
        raise ValidationError(
            f"The photo is {width}×{height} pixels; a {image.format} photo is accepted up to "
            f"{max_decoded_pixels:,} pixels (a JPEG up to {max_pixels:,}).",
            code="too_many_pixels",
        )


def decode_upload(upload, side=FULL_SIDE):
    """Return the decoded RGB image of an upload, at most `side` pixels on its longer
    edge, or raise ValidationError saying why.

    A JPEG larger than `side` is decoded straight at 1/2, 1/4 or 1/8 scale (Pillow's
    draft mode), so a 25-megapixel camera photo costs a few MB instead of 75. Other
    formats are decoded in full, hence their lower pixel budget.
    """
    data = _read_limited(upload, settings.MAX_UPLOAD_BYTES)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise ValidationError(
                    f"{probe.format or 'This'} files are not accepted; upload a JPEG, PNG, WebP or GIF photo.",
                    code="format",
                )
            _refuse_too_many_pixels(probe, settings.MAX_IMAGE_PIXELS, settings.MAX_DECODED_PIXELS)
            probe.verify()
        # verify() leaves the image unusable: decode again for real.
        with Image.open(io.BytesIO(data)) as image:
            if image.format in DRAFT_FORMATS:
                image.draft("RGB", (side, side))
            image.load()
            if image.mode == "P":
                image = image.convert("RGBA")  # resizing a palette would pick nearest colours
            # Shrink before anything copies the pixels, so one full-size buffer exists at most.
            image.thumbnail((side, side), Image.Resampling.LANCZOS)
            image = ImageOps.exif_transpose(image)
            return image.convert("RGB")
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        # Pillow's own header check (main.apps sets its limit): far past the budget.
        raise ValidationError(
            f"The photo has more than {settings.MAX_IMAGE_PIXELS:,} pixels.", code="too_many_pixels"
        )
    except UnidentifiedImageError:
        raise ValidationError("The file is not an image we can read.", code="not_image")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(f"The photo is damaged or incomplete ({exc}).", code="corrupt")


def clean_upload(upload):
    """Validate an upload and re-encode it for storage under a random name."""
    image = decode_upload(upload)
    stem = uuid.uuid4().hex
    return CleanImage(
        image=image,
        full=ContentFile(_encode(image, FULL_SIDE), name=f"{stem}.jpg"),
        thumbnail=ContentFile(card_thumbnail(image), name=f"{stem}.jpg"),
    )
