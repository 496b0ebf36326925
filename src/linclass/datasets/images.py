"""Decoding one image file safely into uint8 pixels.

- Only the raster formats in ``IMAGE_FORMATS`` are decoded, whatever the file's name: Pillow
  is asked to try those plugins alone, so no content (PostScript named ``evil.png``, say) can
  reach a plugin that runs an external program.
- Only regular files are read, and an image whose ``width x height x 8`` bytes (the widest
  intermediate: 8 bytes per pixel) or whose resize target exceeds the size limit is refused
  from its header, before its pixels are decoded (see :mod:`linclass.limits`).
- The EXIF orientation tag is applied, so a photo taken sideways comes out upright.
- 16-bit images (Pillow modes ``I;16*`` and ``I``) are scaled ``v * 255 / 65535``, and
  floating-point images (mode ``F``, intensities ``0..1``) ``v * 255``, rounded and clipped to
  ``0..255``, instead of being clipped at 255.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from linclass import limits

from .base import DataFormatError

IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
BYTES_PER_PIXEL = 8
_SIXTEEN_BIT = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def check_pixels(height: int, width: int, limit: int, what: str) -> None:
    """Refuse an ``height x width`` image (or resize target) past the size limit."""
    limits.check_size(
        height * width * BYTES_PER_PIXEL, limit, f"{what} of {width}x{height} pixels", DataFormatError
    )


def decode_image(
    content: bytes | str | os.PathLike,
    mode: str | None,
    size: tuple[int, int] | None,
    source: str,
    limit: int,
) -> np.ndarray:
    """Decode one image to ``(H, W)`` uint8 (``mode="L"``) or ``(H, W, 3)`` (``mode="RGB"``).

    Args:
        content: the file's bytes, or its path (read only if it is a regular file).
        mode: ``"L"``, ``"RGB"``, or ``None`` to keep grey images grey and make others RGB.
        size: ``(H, W)`` to resize to (bilinear), or ``None``.
        source: the name used in error messages.
        limit: the size limit in bytes (see :func:`check_pixels`).

    Raises:
        DataFormatError: not a regular file, not one of ``IMAGE_FORMATS``, too many pixels, or
            undecodable.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not isinstance(content, bytes):
        content = limits.read_regular(Path(content), "an image file", DataFormatError, limit)
    try:
        with Image.open(io.BytesIO(content), formats=IMAGE_FORMATS) as image:
            check_pixels(image.height, image.width, limit, f"{source}: the image")
            upright = ImageOps.exif_transpose(image)
            eight_bit = _to_eight_bit(upright)
            target = mode or ("L" if eight_bit.mode in GREY_MODES else "RGB")
            converted = eight_bit if eight_bit.mode == target else eight_bit.convert(target)
            if size is not None and converted.size != (size[1], size[0]):
                converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            width, height = converted.size
            pixels = np.frombuffer(converted.tobytes(), dtype=np.uint8)
    except UnidentifiedImageError:
        raise DataFormatError(
            f"{source}: cannot decode image: its content is not one of the formats {', '.join(IMAGE_FORMATS)}"
        ) from None
    except (OSError, SyntaxError, ValueError, TypeError, Image.DecompressionBombError) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(f"{source}: cannot decode image ({exc})") from None
    return pixels.reshape((height, width) if target == "L" else (height, width, 3))


def _to_eight_bit(image):
    """``image`` with 16-bit or float pixels scaled into an 8-bit grey image; others unchanged."""
    from PIL import Image

    if image.mode in _SIXTEEN_BIT:
        scale = 255 / 65535
    elif image.mode == "F":
        scale = 255.0
    else:
        return image
    values = np.asarray(image, dtype=np.float64) * scale
    values = np.clip(np.rint(np.nan_to_num(values, nan=0.0)), 0, 255).astype(np.uint8)
    return Image.fromarray(values)
