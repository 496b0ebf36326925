"""Images decode only as images: allowed raster formats whatever the name, 16-bit and float
pixels scaled into 0..255, EXIF orientation applied."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
from PIL import Image

from linclass.app.predict import load_image
from linclass.datasets import DataFormatError, load_image_folder
from linclass.datasets.images import IMAGE_FORMATS, decode_image

EPS = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 4 4
%%EndComments
newpath 0 0 moveto 4 4 lineto stroke
showpage
%%EOF
"""


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _folder(tmp_path, files: dict[str, bytes]):
    (tmp_path / "train" / "a").mkdir(parents=True)
    for name, content in files.items():
        (tmp_path / "train" / "a" / name).write_bytes(content)
    return tmp_path


def test_the_allowed_formats_are_the_raster_ones():
    assert set(IMAGE_FORMATS) >= {"PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"}
    assert not {"EPS", "PDF", "PSD", "WMF", "XPM"} & set(IMAGE_FORMATS)


def test_postscript_named_png_is_refused_and_never_starts_an_interpreter(tmp_path, monkeypatch):
    assert Image.open(io.BytesIO(EPS)).format == "EPS"  # plain Pillow would hand it to Ghostscript

    def no_programs(*args, **kwargs):
        raise AssertionError(f"an external program was started: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", no_programs)
    monkeypatch.setattr(subprocess, "check_call", no_programs)
    _folder(tmp_path, {"evil.png": EPS})
    message = r"evil\.png: cannot decode image: its content is not one of the formats PNG, JPEG, BMP, GIF, TIFF"
    with pytest.raises(DataFormatError, match=message):
        load_image_folder(tmp_path, cache=False)
    with pytest.raises(DataFormatError, match=message):
        load_image(tmp_path / "train" / "a" / "evil.png", (4, 4))


def test_content_decides_among_the_allowed_formats_not_the_name():
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    decoded = decode_image(_save(Image.fromarray(pixels), "BMP"), None, None, "x.png", 1 << 30)
    np.testing.assert_array_equal(decoded, pixels)


def test_sixteen_bit_pixels_are_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    _folder(tmp_path, {"deep.png": _save(Image.fromarray(values), "PNG")})
    ds = load_image_folder(tmp_path, cache=False)
    np.testing.assert_array_equal(ds.X_train[0], [[0, 1, 128, 255]])


def test_float_pixels_are_read_as_intensities_from_0_to_1(tmp_path):
    values = np.array([[0.0, 0.5, 1.0, 2.0, -1.0, np.nan]], dtype=np.float32)
    _folder(tmp_path, {"f.tif": _save(Image.fromarray(values), "TIFF")})
    ds = load_image_folder(tmp_path, cache=False, grayscale=True)
    np.testing.assert_array_equal(ds.X_train[0], [[0, 128, 255, 255, 0, 0]])


def test_sixteen_bit_grey_becomes_rgb_by_repeating_the_scaled_value():
    values = np.array([[65535, 0]], dtype=np.uint16)
    decoded = decode_image(_save(Image.fromarray(values), "PNG"), "RGB", None, "x.png", 1 << 30)
    np.testing.assert_array_equal(decoded, [[[255, 255, 255], [0, 0, 0]]])


@pytest.mark.parametrize(("orientation", "turn"), [(1, 0), (3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied(orientation, turn):
    pixels = np.arange(6, dtype=np.uint8).reshape(2, 3) * 40
    exif = Image.Exif()
    exif[0x0112] = orientation
    content = _save(Image.fromarray(pixels), "PNG", exif=exif)
    np.testing.assert_array_equal(decode_image(content, "L", None, "x.png", 1 << 30), np.rot90(pixels, turn))


def test_predict_loads_a_sideways_photo_upright(tmp_path):
    pixels = np.zeros((2, 4), dtype=np.uint8)
    pixels[0, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    path = tmp_path / "photo.png"
    path.write_bytes(_save(Image.fromarray(pixels), "PNG", exif=exif))
    upright = load_image(path, (4, 2))
    np.testing.assert_array_equal(upright, np.rot90(pixels, -1))
