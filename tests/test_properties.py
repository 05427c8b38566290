"""Property-based tests: any name either works end to end or is refused with InvalidName;
any image-shaped input either becomes a sample that trains and predicts, or BadImage."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from studio.errors import BadImage, Conflict, InvalidName
from studio.features import image_kernel as features
from studio.features.image import CombinedSpec, PixelsSpec
from studio.samples import images
from studio.samples.store import Store

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(name=st.text(min_size=0, max_size=80))
def test_any_project_and_class_name_is_safe(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("names")
    store = Store(root)
    try:
        project = store.create(name)
    except InvalidName as e:
        assert str(e)
        return
    assert project.name == name.strip()
    assert project.path.parent == root  # the folder is always directly inside the store
    assert project.folder not in (".", "..") and os.sep not in project.folder
    assert store.project(name.strip()).folder == project.folder
    try:
        info = project.add_class(name + "x")
    except (InvalidName, Conflict):
        return
    assert (project.path / info.folder).parent == project.path
    project.add_sample(info.label, np.zeros((4, 4, 3), np.uint8))
    assert project.counts()[info.label] == 1


@SETTINGS
@given(arr=arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40),
                                      st.sampled_from([1, 3, 4]))))
def test_any_uint8_image_array_gives_features(arr):
    img = images.load(arr)
    assert img.mode == "RGB" and img.size == (arr.shape[1], arr.shape[0])
    for spec in (CombinedSpec().json, PixelsSpec(8).json):
        v = features.extract(np.asarray(img), spec)
        assert v.dtype == np.float32 and np.isfinite(v).all()


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_are_an_image_or_bad_image(data):
    try:
        img = images.load(data)
    except BadImage as e:
        assert "not a readable image" in str(e) or "too large" in str(e)
        return
    assert img.mode == "RGB"


@pytest.mark.filterwarnings("ignore:Saving I mode images as PNG is deprecated")
@SETTINGS
@given(mode=st.sampled_from(["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F", "YCbCr"]),
       w=st.integers(1, 50), h=st.integers(1, 50), fmt=st.sampled_from(["PNG", "TIFF"]))
def test_every_pil_mode_decodes_to_rgb(mode, w, h, fmt):
    img = Image.new(mode, (w, h))
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
        Image.open(io.BytesIO(buf.getvalue())).load()
    except OSError:  # Pillow cannot write or read back this mode in this format: nothing to test
        return
    out = images.load(buf.getvalue())
    assert out.mode == "RGB" and out.size == (w, h)


def test_truncated_png_is_bad_image(tmp_path):
    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buf, format="PNG")  # noise does not compress: cuts land in pixel data
    data = buf.getvalue()
    for cut in (8, len(data) // 2, len(data) - 200):
        try:
            images.load(data[:cut])
        except BadImage:
            continue
        raise AssertionError(f"truncated at {cut} of {len(data)} bytes decoded without error")


def test_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(path)  # 100 Mpx, a few KB on disk
    try:
        images.load(path)
    except BadImage as e:
        assert "larger than" in str(e) or "too large" in str(e)
    else:
        raise AssertionError("a 100-megapixel image was decoded")


def test_huge_capture_is_downscaled(store):
    project = store.create("big")
    sample = project.add_sample("Class 1", np.zeros((3000, 4000, 3), np.uint8))
    with Image.open(sample.path) as im:
        assert max(im.size) == images.MAX_SIDE
