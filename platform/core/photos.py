"""Photos of tasks, reports and town pages, made safe before they are stored (the board's tasks
and the towns' own pages use the same checks).

An upload must be a JPEG, PNG or WebP image of at most ``MATCHING_PHOTO_MAX_BYTES`` and a
sane number of pixels (a decompression bomb is refused before it is decoded). It is then
turned upright, shrunk to fit ``PHOTO_MAX_SIDE`` and re-encoded as JPEG without its
metadata: no camera EXIF, and no GPS position of someone's home leaves with it.
"""

from __future__ import annotations

import io
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

PHOTO_MAX_SIDE = 1600
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}


def _too_large(max_bytes: int) -> ValidationError:
    mb = max(1, round(max_bytes / (1024 * 1024)))
    return ValidationError(_("写真は%(mb)dMB以下にしてください。") % {"mb": mb})


def photo_clean(upload) -> ContentFile:
    """The upload as a safe, resized JPEG, or a ValidationError saying what is wrong."""
    max_bytes = settings.MATCHING_PHOTO_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise _too_large(max_bytes)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    not_image = ValidationError(_("写真は JPEG、PNG、WebP の画像ファイルにしてください。"))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise not_image
            width, height = probe.size
            if width * height > PHOTO_MAX_PIXELS:
                raise ValidationError(_("写真の画素数が大きすぎます（4000万画素まで）。"))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, (255, 255, 255))
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85, optimize=True)
    except ValidationError:
        raise
    except Image.DecompressionBombError as exc:  # so many pixels that Pillow will not open it
        raise ValidationError(_("写真の画素数が大きすぎます（4000万画素まで）。")) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise not_image from exc
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")
