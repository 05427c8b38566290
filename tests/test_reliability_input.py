"""Bad input through the command line (files that are not images, damaged and huge ones), and
model files studio did not write or cannot use: each gets a clear message, nothing is
half-written, and a model file of unknown origin is never unpickled.

(The web app's side of the same inputs is in test_reliability_server.py; names, archives
and image modes in the core are in test_names, test_hostile_archives, test_images and
test_properties.)"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import fixture_images, make_project, one_line_error, png_bytes, resigned, run_cli
from PIL import Image

from studio.errors import StudioError, UnsafeFile
from studio.export.bundle import export
from studio.model import modelfile
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples.store import Store


def bad_files(folder: Path) -> list[Path]:
    """Files a user might pick by mistake, or an attacker on purpose; none is an image studio keeps."""
    photo = Image.open(fixture_images("rps", "rock", 1)[0]).convert("RGB")
    png, jpeg = png_bytes(photo), png_bytes(photo, "JPEG", quality=90)
    files = {
        "notes.png": b"shopping list: eggs, milk\n",  # text with an image's name
        "empty.png": b"",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 3],
        "header-only.jpg": jpeg[:20],
        "bomb.png": png_bytes(Image.new("1", (12_000, 10_000))),  # 120 megapixels in a few KB
        "broken.zip": b"PK\x03\x04 not really a zip",
        "script.sh": b"#!/bin/sh\necho hello\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / n for n in files]


def odd_but_valid(folder: Path) -> list[Path]:
    """Images that are strange but fine: each must be stored."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "1x1.png": Image.new("RGB", (1, 1), (10, 200, 30)),
        "strip.png": Image.new("RGB", (3000, 2), (10, 200, 30)),
        "grey.png": Image.new("L", (40, 30), 90),
        "rgba.png": Image.new("RGBA", (40, 30), (10, 200, 30, 128)),
        "16bit.png": Image.fromarray(np.full((30, 40), 40000, np.uint16)),
        "cmyk.jpg": Image.new("CMYK", (40, 30), (10, 20, 30, 0)),
        "palette.gif": Image.new("P", (40, 30), 3),
    }
    for name, img in made.items():
        img.save(folder / name)
    return [folder / n for n in made]


def snapshot(project_dir: Path) -> dict[str, bytes]:
    """Every file under a project, with its bytes."""
    return {str(p.relative_to(project_dir)): p.read_bytes() for p in sorted(project_dir.rglob("*")) if p.is_file()}


# ---- images through the command line ----------------------------------------------------------
def test_cli_refuses_bad_files_and_writes_nothing(tmp_path):
    caps = tmp_path / "captures"
    project = Store(caps).create("P")
    project.add_sample("Class 1", fixture_images("rps", "rock", 1)[0])
    before = snapshot(project.path)
    bad = bad_files(tmp_path / "bad")

    proc = run_cli("add", "P", "Class 1", *bad, captures=caps, check=False)
    err = one_line_error(proc)
    assert proc.stdout == "", "nothing added: the error alone, no summary of nothing"
    assert "No image was added to 'Class 1': skipped 6 not a readable image (notes.png, " in err
    for said in ("and 1 more", "1 too large to decode safely (bomb.png)", "1 not a readable zip file (broken.zip)"):
        assert said in err, err
    assert snapshot(project.path) == before, "a refused file changed the project on disk"

    # Good files among bad ones: the good ones are stored whole, the bad ones named and skipped.
    odd = odd_but_valid(tmp_path / "odd")
    proc = run_cli("add", "P", "Class 1", *bad, *odd, captures=caps)
    assert f"Imported {len(odd)} image(s)" in proc.stdout and "Skipped 8 file(s)" in proc.stdout, proc.stdout
    after = Store(caps).project("P")
    assert after.counts() == {"Class 1": 1 + len(odd), "Class 2": 0}
    for sample in after.samples("Class 1"):
        with Image.open(sample.path) as img:
            img.load()  # complete, and bounded: a 3000-px strip is stored at most 1024 px long
            assert img.mode == "RGB" and max(img.size) <= 1024
    assert not list(after.path.rglob(".tmp-*"))
    assert json.loads((after.path / "project.json").read_text())["name"] == "P"


def test_cli_predict_names_each_bad_image_and_still_predicts_the_good_ones(tmp_path):
    store = Store(tmp_path / "captures")
    train(make_project(store, "rps", "rps", n=4), TrainSettings(model="knn"))
    bad = bad_files(tmp_path / "bad")
    good = fixture_images("rps", "paper")[-1]
    proc = run_cli("predict", "rps", *bad, good, captures=store.root, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == [str(good)]
    complaints = proc.stderr.strip().splitlines()
    assert len(complaints) == len(bad), proc.stderr
    for path, line in zip(bad, complaints):
        assert line.startswith(f"studio: error: {path} ") and line.count(str(path)) == 1, line
        assert "not a readable image" in line or "larger than" in line or "too large" in line, line


# ---- model files from elsewhere -----------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("models") / "captures")
    project = make_project(store, "rps", "rps", n=4)
    record = train(project, TrainSettings(model="knn", features="hog"))
    return store, project, record


@pytest.fixture
def pointer(trained_store):
    """model.json of the trained project, restored after the test."""
    _, project, _ = trained_store
    path = project.model_dir / modelfile.POINTER
    original = path.read_bytes()
    files = {p.name: p.read_bytes() for p in project.model_dir.iterdir()}
    yield path
    for name, data in files.items():
        (project.model_dir / name).write_bytes(data)
    path.write_bytes(original)


EDITS = {  # what another studio version, or a hand edit, could leave in model.json
    "format 2": (lambda m: m.update(format=2), "format 2"),
    "no format": (lambda m: m.pop("format"), "format None"),
    "unknown feature kind": (lambda m: m["spec"].update(kind="sift"), "Feature kind must be one of"),
    "unknown framing": (lambda m: m["spec"].update(framing="fisheye"), "Framing must be one of"),
    "HOG cell of 0": (lambda m: m["spec"].update(cell=0), "not one this studio computes"),  # OpenCV: SIGFPE
    "other image size": (lambda m: m["spec"].update(size=32), "expects 972 features per sample"),
    "pixels for a HOG model": (lambda m: m.update(spec={"kind": "pixels", "size": 16, "color": True,
                                                       "framing": "crop"}), "expects 972 features"),
    "sound spec on an image model": (lambda m: m.update(spec={"kind": "logmel"}), "not one this studio computes"),
    "spec is a string": (lambda m: m.update(spec="hog"), "not a JSON object"),
    "no spec": (lambda m: m.pop("spec"), "is damaged"),
    "no file": (lambda m: m.pop("file"), "is damaged"),
    "labels it was not trained on": (lambda m: m.update(labels=["rock", "paper", "lizard"]), "lizard"),
}


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_a_model_from_another_version_or_spec_is_refused_clearly(trained_store, pointer, edit):
    _, project, _ = trained_store
    change, says = EDITS[edit]
    meta = json.loads(pointer.read_text())
    change(meta)
    pointer.write_text(resigned(meta))
    with pytest.raises(StudioError, match="(?i)train the model again|does not know") as e:
        Predictor.from_project(project)
    assert says in str(e.value)


def test_cli_refuses_an_edited_model_json_in_one_line(trained_store, pointer):
    store, _, _ = trained_store
    image = fixture_images("rps", "rock")[-1]
    meta = json.loads(pointer.read_text())
    for change in (lambda m: m.update(format=2), lambda m: m["spec"].update(size=32)):
        edited = json.loads(json.dumps(meta))
        change(edited)
        pointer.write_text(resigned(edited))
        err = one_line_error(run_cli("predict", "rps", image, captures=store.root, check=False))
        assert "Train the model again" in err or "train the model again" in err, err


class Payload:
    """Unpickling this touches a file: proof that a file was (or was not) unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_replaced_model_file_is_never_unpickled(trained_store, pointer, tmp_path):
    store, project, record = trained_store
    marker = tmp_path / "unpickled"
    model_file = project.model_dir / json.loads(pointer.read_text())["file"]
    model_file.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(UnsafeFile, match="checksum"):
        Predictor.from_project(project)
    err = one_line_error(run_cli("predict", "rps", fixture_images("rps", "rock")[-1], captures=store.root,
                                 check=False))
    assert "checksum" in err and not marker.exists()


def test_an_exported_joblib_is_not_unpickled_without_trust_from_the_cli(trained_store, tmp_path):
    _, _, record = trained_store
    folder = export(record, tmp_path / "exports", formats=["joblib"]).folder
    marker = tmp_path / "unpickled"
    (folder / "model.joblib").write_bytes(pickle.dumps(Payload(marker)))
    err = one_line_error(run_cli("predict", str(folder), fixture_images("rps", "rock")[-1],
                                 captures=tmp_path / "captures", check=False))
    assert "--trust" in err and not marker.exists()


def test_a_model_this_scikit_learn_cannot_read_is_a_message(trained_store, pointer):
    """studio's own file (its checksum matches) that names a class this scikit-learn lacks."""
    _, project, _ = trained_store
    data = b"csklearn.gone_in_2030\nSupportVectorThing\n(tR."
    meta = json.loads(pointer.read_text())
    (project.model_dir / meta["file"]).write_bytes(data)
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    meta["versions"]["scikit-learn"] = "2.9"
    pointer.write_text(resigned(meta))
    with pytest.raises(StudioError, match=r"written with scikit-learn 2\.9 and cannot be read"):
        modelfile.load(project.model_dir)


def test_the_previous_model_is_untouched_by_refusals(trained_store):
    """After all the edits above (each restored), the model predicts as trained."""
    _, project, record = trained_store
    image = fixture_images("rps", "rock")[-1].read_bytes()
    assert Predictor.from_project(project).predict(image) == Predictor.from_record(record).predict(image)
