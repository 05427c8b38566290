"""Image to feature vector: framing, sketch re-centring, HOG and pixel features, specs."""

import json

import numpy as np
import pytest
from helpers import cosine, doodle, fixture_images, make_spec
from PIL import Image, ImageDraw

from studio.errors import StudioError
from studio.features import image_kernel as features
from studio.features import registry
from studio.features.image import CombinedSpec, HogSpec, PixelsSpec
from studio.features.pretrained import PretrainedSpec
from studio.kinds import PHOTO, SKETCH, SOUND
from studio.model.settings import TrainSettings


def bands(width: int, height: int) -> np.ndarray:
    """Red | green | blue bands along the longer side: the centred square of a 3:1 image is
    exactly the green band."""
    arr = np.zeros((height, width, 3), np.uint8)
    if width >= height:
        third = width // 3
        arr[:, :third] = (255, 0, 0)
        arr[:, third:2 * third] = (0, 255, 0)
        arr[:, 2 * third:] = (0, 0, 255)
    else:
        third = height // 3
        arr[:third] = (255, 0, 0)
        arr[third:2 * third] = (0, 255, 0)
        arr[2 * third:] = (0, 0, 255)
    return arr


@pytest.mark.parametrize("w, h", [(300, 100), (100, 300)])
def test_centre_crop_framing(w, h):
    spec = make_spec("pixels", size=16)
    square = features.framed(bands(w, h), spec)
    assert square.shape == (16, 16, 3)
    assert (square == (0, 255, 0)).all()  # only the centred square, resized
    x = features.extract(bands(w, h), spec)
    assert x.dtype == np.float32 and x.shape == (768,)
    assert np.allclose(x.reshape(16, 16, 3), [0, 1, 0])


def test_centre_crop_matches_crop_then_resize_by_hand():
    path = fixture_images("rps", "paper", 1)[0]
    img = Image.open(path).convert("RGB")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    expected = img.crop((left, top, left + side, top + side)).resize((24, 24), Image.Resampling.BILINEAR)
    got = features.framed(np.asarray(img), make_spec("pixels", size=24))
    assert np.array_equal(got, np.asarray(expected))


def test_sketch_drawn_small_in_a_corner_is_like_drawn_large_in_the_middle():
    spec = make_spec("hog", framing="sketch")
    large = features.extract(doodle(280, (40, 40, 200), pen=6), spec)
    small_corner = features.extract(doodle(280, (5, 205, 60), pen=6), spec)
    small_other_corner = features.extract(doodle(280, (200, 10, 70), alpha=True, pen=6), spec)  # RGBA canvas
    box = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(box).rectangle([40, 40, 240, 240], outline="black", width=6)
    other = features.extract(box, spec)
    assert cosine(large, small_corner) > 0.9
    assert cosine(large, small_other_corner) > 0.9
    assert cosine(large, other) < 0.5
    assert np.linalg.norm(large - small_corner) < 0.4 * np.linalg.norm(large - other)
    # without the re-centring (Teachable Machine's crop framing) they are far apart
    crop = {**spec, "framing": "crop"}
    assert cosine(features.extract(doodle(280, (40, 40, 200), pen=6), crop),
                  features.extract(doodle(280, (5, 205, 60), pen=6), crop)) < 0.5


def test_sketch_square_is_centred_with_a_margin():
    img = np.asarray(doodle(200, (150, 0, 40), pen=3))
    square = features.sketch_square(img)
    assert square.shape[0] == square.shape[1]
    ink = np.argwhere(square.min(axis=2) < features.SKETCH_INK)
    top, left = ink.min(axis=0)
    bottom, right = square.shape[0] - 1 - ink.max(axis=0)
    assert min(top, left, bottom, right) >= 1
    assert abs(int(top) - int(bottom)) <= 1 and abs(int(left) - int(right)) <= 1


def test_empty_sketch_is_refused():
    with pytest.raises(ValueError, match="empty"):
        features.extract(np.full((50, 50, 3), 255, np.uint8), make_spec("hog", framing="sketch"))


@pytest.mark.parametrize("kwargs, dim", [
    ({"kind": "hog"}, 3 * 9 * 4 * 9),  # 64 px, 16-px cells: 3x3 blocks of 2x2 cells, 9 bins, R G B
    ({"kind": "hog", "color": False}, 9 * 4 * 9),
    ({"kind": "hog", "size": 32, "cell": 8}, 3 * 9 * 4 * 9),
    ({"kind": "hog", "size": 128, "cell": 16}, 3 * 49 * 4 * 9),
    ({"kind": "pixels"}, 16 * 16 * 3),
    ({"kind": "pixels", "size": 24, "color": False}, 24 * 24),
    ({"kind": "pixels", "size": 28, "color": False, "framing": "sketch"}, 28 * 28),
    ({"kind": "gist"}, 4 * 8 * 16),  # 4 scales x 8 orientations, 4x4 cells
    ({"kind": "gist", "size": 48}, 4 * 8 * 16),
    ({"kind": "lbp"}, 16 * 59),  # 4x4 cells of 59 labels
    ({"kind": "combined"}, 512 + 324 + 4 * 59 + 8 * 8 * 3),  # GIST, strongest-channel HOG, LBP 2x2, thumbnail
    ({"kind": "combined", "color": False}, 512 + 324 + 4 * 59 + 8 * 8),
    ({"kind": "combined", "size": 96, "framing": "sketch"}, 512 + 25 * 36 + 4 * 59 + 8 * 8 * 3),
])
def test_feature_dimensions(kwargs, dim):
    spec = make_spec(**kwargs)
    x = features.extract(np.asarray(Image.open(fixture_images("quickdraw", "cat", 1)[0]).convert("RGB")), spec)
    assert x.shape == (dim,) and x.dtype == np.float32 and np.isfinite(x).all()
    if spec["kind"] == "pixels":
        assert 0.0 <= x.min() and x.max() <= 1.0


def test_combined_is_its_parts_side_by_side_on_the_framed_square():
    rgb = np.asarray(Image.open(fixture_images("rps", "paper", 1)[0]).convert("RGB"))
    spec = make_spec("combined")
    square = features.framed(rgb, spec)
    parts = [features.extract(square, {**part, "framing": "crop"}) for part in spec["parts"]]
    assert np.array_equal(features.extract(rgb, spec), np.concatenate(parts))
    assert np.array_equal(features.extract(rgb, spec, mirror=True),
                          features.from_framed(np.ascontiguousarray(square[:, ::-1]), spec))


def test_lbp_cells_are_square_roots_of_histograms():
    rgb = np.asarray(Image.open(fixture_images("face_mask", "with_mask", 1)[0]).convert("RGB"))
    x = features.extract(rgb, make_spec("lbp")).reshape(16, 59)
    assert np.allclose((x ** 2).sum(axis=1), 1.0, atol=1e-5) and x.min() >= 0
    flat = features.extract(np.full((64, 64, 3), 128, np.uint8), make_spec("lbp")).reshape(16, 59)
    assert np.allclose(flat[:, 57], 1.0)  # all neighbours >= centre: code 255, the last uniform label


def test_gist_sees_orientation():
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::8] = 255  # vertical lines: horizontal intensity changes
    spec = make_spec("gist")
    x = features.extract(stripes, spec).reshape(4, 8, 16)  # scale, orientation, cell
    turned = features.extract(np.ascontiguousarray(stripes.transpose(1, 0, 2)), spec).reshape(4, 8, 16)
    assert x.min() >= 0 and np.isfinite(x).all()
    assert x[0, 0].mean() > 2 * x[0, 4].mean()  # energy at orientation 0 (across the lines), not at 90 degrees
    assert turned[0, 4].mean() > 2 * turned[0, 0].mean()


def test_grey_pixels_use_the_documented_weights():
    spec = make_spec("pixels", size=4, color=False)
    x = features.extract(np.full((4, 4, 3), (200, 100, 50), np.uint8), spec)
    assert np.allclose(x, round(0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255)


def test_mirror_is_the_features_of_the_flipped_image():
    rgb = np.asarray(Image.open(fixture_images("rps", "scissors", 1)[0]).convert("RGB"))
    spec = make_spec()
    mirrored_square = np.ascontiguousarray(features.framed(rgb, spec)[:, ::-1])
    assert np.array_equal(features.extract(rgb, spec, mirror=True), features.from_framed(mirrored_square, spec))
    assert cosine(features.extract(rgb, spec, mirror=True), features.extract(rgb[:, ::-1], spec)) > 0.99
    assert not np.array_equal(features.extract(rgb, spec, mirror=True), features.extract(rgb, spec))


def test_default_spec_is_the_best_measured_recipe():
    assert make_spec() == CombinedSpec().to_json() == {
        "kind": "combined", "size": 64, "cell": 16, "color": True, "framing": "crop", "parts": [
            {"kind": "gist", "size": 64, "grid": 4, "scales": 4, "orients": 8},
            {"kind": "hog", "size": 64, "cell": 16, "bins": 9, "color": True, "channels": "max"},
            {"kind": "lbp", "size": 64, "grid": 2},
            {"kind": "pixels", "size": 8, "color": True}]}
    # the previous default stays selectable, unchanged
    assert make_spec("hog") == {
        "kind": "hog", "size": 64, "cell": 16, "bins": 9, "color": True, "framing": "crop"}
    s = TrainSettings()  # a project without settings of its own (one made before pretrained features)
    assert (s.model, s.head, s.features, s.augment, s.color) == ("auto", "svc", "combined", True, True)
    photo = TrainSettings(**PHOTO.default_settings())  # a new photo project: the network's features
    assert (photo.features, photo.head) == ("pretrained", "logistic") and photo.spec_for(PHOTO) == PretrainedSpec()
    sound = TrainSettings(**SOUND.default_settings())  # a new sound project: the speech embedding's features
    assert (sound.features, sound.head, sound.option("C")) == ("speech", "logistic", 1.0)
    assert TrainSettings(**{**SOUND.default_settings(), "features": "logmel"}).head == "svc"  # as before
    assert (s.option("gamma"), s.option("calibration_folds")) == (0.5, 3)
    assert (TrainSettings(features="hog").option("gamma"), TrainSettings(features="hog").option(
        "calibration_folds")) == (1.0, 5)
    assert s.spec_for(PHOTO) == CombinedSpec() and s.spec_for(PHOTO).to_json() == make_spec()
    assert s.spec_for(SKETCH).framing == "sketch"
    assert TrainSettings(features="pixels").spec_for(PHOTO).size == 16


def test_spec_is_json_and_complete():
    for spec in (make_spec(), make_spec("pixels", 20, False, "sketch")):
        again = json.loads(json.dumps(spec))
        assert again == spec
        img = doodle(64, (10, 10, 40))
        assert np.array_equal(features.extract(img, again), features.extract(img, spec))


@pytest.mark.parametrize("kwargs, says", [
    ({"kind": "sift"}, "Feature kind"),
    ({"framing": "zoom"}, "Framing"),
    ({"kind": "pixels", "size": 3}, "from 4 to 128"),
    ({"kind": "pixels", "size": 129}, "from 4 to 128"),
    ({"kind": "hog", "size": 60}, "multiple of the cell"),
    ({"kind": "hog", "size": 64, "cell": 64}, "twice"),
    ({"kind": "hog", "size": 8, "cell": 4}, "from 16 to 256"),
    ({"kind": "hog", "size": 512}, "from 16 to 256"),
    ({"kind": "gist", "size": 66}, "multiple of 4"),
    ({"kind": "lbp", "size": 8}, "from 16 to 256"),
    ({"kind": "combined", "size": 60}, "multiple of the cell"),
    ({"kind": "combined", "size": 30, "cell": 15}, "Combined features need a size that is a multiple of 4"),
])
def test_spec_validation(kwargs, says):
    with pytest.raises(StudioError, match=says):
        make_spec(**kwargs)


@pytest.mark.parametrize("spec", [CombinedSpec(), CombinedSpec(96, color=False, framing="sketch"), HogSpec(),
                                  PixelsSpec(20, False, "sketch"), *(cls() for cls in registry.SPECS.values())],
                         ids=repr)
def test_spec_round_trips_through_json_and_knows_itself(spec):
    again = registry.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec and again.to_json() == spec.to_json()
    assert spec.vector_length == len(spec.vector(spec.blank())) > 0
    assert spec.describe() and all(isinstance(step, str) for step in spec.describe())
    assert "numpy" in spec.needs()


@pytest.mark.parametrize("edit, says", [
    ({"cell": 0}, "cell"), ({"kind": "sift"}, "Feature kind must be one of"), ({"size": 60}, "multiple of the cell"),
    ({"bins": 0}, "bins"), ({"extra": 1}, "unknown field"), ({"parts": []}, "parts differs"),
])
def test_an_edited_spec_is_refused_with_what_differs(edit, says):
    with pytest.raises(StudioError, match=says):
        registry.from_json({**HogSpec().to_json(), **edit} if "parts" not in edit else
                           {**CombinedSpec().to_json(), **edit})
    with pytest.raises(StudioError, match="not a JSON object"):
        registry.from_json(["hog"])


def test_each_project_kind_offers_the_features_it_can_read():
    assert PHOTO.feature_kinds()[:2] == ("pretrained", "combined")
    assert "logmel" not in PHOTO.feature_kinds() and "speech" not in PHOTO.feature_kinds()
    assert SOUND.feature_kinds() == ("speech", "logmel")
    with pytest.raises(StudioError, match="A sound project takes speech or logmel features; got 'hog'"):
        TrainSettings(features="hog").spec_for(SOUND)
