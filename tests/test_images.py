"""Decoding anything a user hands us into a safe RGB image, or BadImage."""

import io

import numpy as np
import pytest
from helpers import fixture_images, png_bytes
from PIL import Image

from studio.errors import BadImage
from studio.features import image_kernel as features
from studio.samples import images


def rgb(source) -> np.ndarray:
    img = images.load(source)
    assert img.mode == "RGB"
    return np.asarray(img)


def test_grey_becomes_equal_channels():
    out = rgb(png_bytes(Image.new("L", (6, 4), 77)))
    assert out.shape == (4, 6, 3) and (out == 77).all()


def test_rgba_is_flattened_onto_white():
    img = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    img.putpixel((0, 0), (255, 0, 0, 255))
    img.putpixel((1, 0), (0, 0, 0, 128))
    out = rgb(png_bytes(img))
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[1, 1].tolist() == [255, 255, 255]  # transparent is white, not black
    assert 120 <= out[0, 1, 0] <= 135  # half-transparent black is mid grey


def test_rgba_arrays_and_pil_images_flatten_the_same_way():
    arr = np.zeros((3, 3, 4), np.uint8)
    arr[0, 0] = (0, 0, 255, 255)
    a = rgb(arr)
    b = rgb(Image.fromarray(arr, "RGBA"))
    assert np.array_equal(a, b)
    assert a[0, 0].tolist() == [0, 0, 255] and a[2, 2].tolist() == [255, 255, 255]


def test_16_bit_grey_is_scaled_not_clipped():
    ramp = np.tile(np.linspace(0, 65535, 256), (4, 1)).astype(np.uint16)
    out = rgb(png_bytes(Image.fromarray(ramp)))
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    assert abs(int(out[0, 128, 0]) - 128) <= 2  # mid grey stays mid grey
    assert (np.diff(out[0, :, 0].astype(int)) >= 0).all()


def test_cmyk_jpeg_is_converted():
    out = rgb(png_bytes(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"))
    assert out[4, 4, 0] > 200 and out[4, 4, 1] < 60 and out[4, 4, 2] < 60  # red


def test_palette_images_with_and_without_transparency():
    p = Image.new("RGB", (8, 8), (0, 128, 0)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert rgb(png_bytes(p))[0, 0].tolist() == [0, 128, 0]
    t = Image.new("P", (8, 8), 0)
    t.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    t.info["transparency"] = 0
    t.putpixel((1, 1), 1)
    out = rgb(png_bytes(t, transparency=0))
    assert out[0, 0].tolist() == [255, 255, 255] and out[1, 1].tolist() == [0, 0, 255]


def test_grey_alpha_and_bilevel():
    assert rgb(png_bytes(Image.new("1", (4, 4), 1)))[0, 0].tolist() == [255, 255, 255]
    assert rgb(png_bytes(Image.new("LA", (4, 4), (0, 255))))[0, 0].tolist() == [0, 0, 0]


def test_float_and_grey_arrays():
    assert rgb(np.ones((4, 4), np.float32))[0, 0].tolist() == [255, 255, 255]
    assert rgb(np.full((4, 4, 1), 9, np.uint8))[0, 0].tolist() == [9, 9, 9]
    assert rgb(np.full((4, 4, 3), 300.0))[0, 0].tolist() == [255, 255, 255]


def test_exif_rotation_is_applied():
    img = Image.new("RGB", (40, 20), (200, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = rgb(png_bytes(img, "JPEG", exif=exif))
    assert out.shape[:2] == (40, 20)
    # the exported script decodes files exactly the same way
    assert np.array_equal(features.load_rgb(io.BytesIO(png_bytes(img, "JPEG", exif=exif))), out)


def test_a_real_photo_decodes_like_the_exported_script_does():
    path = fixture_images("face_mask", "with_mask", 1)[0]
    assert np.array_equal(rgb(path), features.load_rgb(path))


@pytest.mark.parametrize("make", [
    lambda j: j[: len(j) // 2],  # truncated JPEG
    lambda j: j[:20],  # header only
    lambda j: b"",  # empty
    lambda j: b"GIF89a" + b"\x00" * 10,  # broken header
    lambda j: b"hello, I am text",  # not an image
    lambda j: j[:200] + b"\x00" * 50 + j[250:],  # corrupt middle
])
def test_corrupt_or_truncated_data_is_bad_image(make):
    jpg = fixture_images("rps", "rock", 1)[0].read_bytes()
    data = make(jpg)
    try:
        out = rgb(data)
    except BadImage as e:
        assert "not a readable image" in str(e)
    else:  # JPEG decoders may conceal damage in the middle of the data, but never crash
        assert out.shape[2] == 3 and data != jpg[:len(data)]


def test_truncated_png_file_on_disk_is_bad_image(tmp_path):
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)))
    f = tmp_path / "cut.png"
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImage, match="cut.png"):
        images.load(f)
    with pytest.raises(BadImage, match="does not exist"):
        images.load(tmp_path / "missing.png")
    with pytest.raises(BadImage):
        images.load(tmp_path)  # a folder


def test_decompression_bombs_are_refused_before_decoding():
    big = png_bytes(Image.new("L", (8000, 6000)))  # 48 Mpx, compresses to a few KB
    with pytest.raises(BadImage, match="larger than"):
        images.load(big)


def test_unsupported_types_and_shapes():
    with pytest.raises(BadImage):
        images.load(12)
    with pytest.raises(BadImage, match="shape"):
        images.load(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(BadImage, match="empty"):
        images.load(np.zeros((0, 4, 3), np.uint8))


def test_bounded_and_image_names():
    img = Image.new("RGB", (2000, 500))
    assert images.bounded(img).size == (1024, 256)
    small = Image.new("RGB", (30, 20))
    assert images.bounded(small) is small
    assert images.is_image_name("a.JPG") and images.is_image_name("b.webp") and not images.is_image_name("c.txt")
