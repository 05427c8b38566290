"""Models that run code (issue 13, item 4): a project folder copied from someone else can carry a
model pickle, with a model.json whose checksum matches it, that runs its code when loaded. studio
loads a project model only if this installation signed it; the project still opens, the page and
the CLI say to retrain it here, and --trust is the CLI's explicit escape."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from helpers import FIXTURES, fixture_images, make_project, one_line_error, run_cli
from PIL import Image

from studio.errors import StudioError, UntrustedModel
from studio.model import modelfile, signing
from studio.model.metrics import Metrics
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples.store import Store

RECIPE = TrainSettings(model="knn", features="hog")  # quick to train; trust does not depend on the recipe
IMAGE = fixture_images("rps", "rock")[-1]  # not among the 3 per class the projects hold


class Payload:
    """Unpickling this writes a file: proof that the sender's code ran (or did not)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(params=["signed elsewhere", "unsigned"])
def foreign(request, tmp_path, monkeypatch):
    """Our store holding 'rps', a project copied from another installation (or from this one before
    models were signed), whose model writes ``marker`` when unpickled; model.json's checksum matches."""
    ours = os.environ["STUDIO_CONFIG"]
    monkeypatch.setenv("STUDIO_CONFIG", str(tmp_path / "their-config"))
    theirs = make_project(Store(tmp_path / "their-captures"), "rps", "rps", n=3)
    marker = tmp_path / "their-code-ran"
    record = modelfile.ModelRecord(Payload(marker), theirs.labels(), RECIPE.spec_for(theirs.kind),
                                   RECIPE.to_dict(), Metrics.from_json(None), project_name="rps")
    modelfile.save(theirs.model_dir, record)
    if request.param == "unsigned":
        pointer = theirs.model_dir / modelfile.POINTER
        pointer.write_text(json.dumps({k: v for k, v in json.loads(pointer.read_text()).items() if k != "signature"}))
    monkeypatch.setenv("STUDIO_CONFIG", ours)
    store = Store(tmp_path / "captures")
    shutil.copytree(theirs.path, store.root / theirs.path.name)
    return store, marker


@pytest.mark.parametrize("command", [["predict", "rps", IMAGE], ["evaluate", "rps", FIXTURES / "rps"],
                                     ["export", "rps", "--out", "exports"]], ids=["predict", "evaluate", "export"])
def test_the_cli_refuses_it_in_one_line(foreign, command, tmp_path):
    store, marker = foreign
    err = one_line_error(run_cli(*command, captures=store.root, cwd=tmp_path, check=False))
    assert "not made by this studio installation" in err and "retrain" in err and "--trust" in err, err
    assert not marker.exists() and not (tmp_path / "exports").exists()


def test_the_core_refuses_it_before_unpickling(foreign):
    store, marker = foreign
    project = store.project("rps")
    with pytest.raises(UntrustedModel, match="not made by this studio installation.*retrain to use it here"):
        Predictor.from_project(project)
    with pytest.raises(UntrustedModel):
        modelfile.load(project.model_dir)
    assert not marker.exists()
    modelfile.load(project.model_dir, trust=True)  # the escape really unpickles: the payload is live
    assert marker.exists()


def test_the_project_still_opens_with_its_classes_and_images(foreign):
    store, marker = foreign
    project = store.project("rps")
    assert project.counts() == {"paper": 3, "rock": 3, "scissors": 3}
    assert all(s.path.is_file() for s in project.samples())
    assert run_cli("classes", "rps", captures=store.root).stdout.split() == ["paper", "3", "rock", "3", "scissors", "3"]
    assert not marker.exists()


def test_the_page_says_retrain_to_use_it_here(foreign):
    from studio.ui import train as train_ui
    from studio.ui.camera import predict
    from studio.ui.common import Studio

    store, marker = foreign
    project = store.project("rps")
    said = predict(Studio(store, store.root / "exports"), project, np.asarray(Image.open(IMAGE).convert("RGB")))
    assert isinstance(said, str) and "retrain to use it here" in said and "--trust" not in said
    assert "retrain to use it here" in train_ui.status(project) and not train_ui.made_here(train_ui.model_info(project))
    assert not marker.exists()


def test_retraining_makes_it_this_installations(foreign):
    store, marker = foreign
    project = store.project("rps")
    old_file = project.model_dir / modelfile.info(project.model_dir)["file"]
    record = train(project, RECIPE)
    assert not old_file.exists() and modelfile.info(project.model_dir)["signature"].startswith("hmac-sha256:")
    assert Predictor.from_project(project).predict(IMAGE) == Predictor.from_record(record).predict(IMAGE)
    line = run_cli("predict", "rps", IMAGE, captures=store.root).stdout
    assert line.startswith(f"{IMAGE}\t") and not marker.exists()


# ---- a model this installation made, under another secret ------------------------------------
@pytest.fixture
def trained(tmp_path):
    store = Store(tmp_path / "captures")
    project = make_project(store, "rps", "rps", n=3)
    train(project, RECIPE)
    return store, project


def test_another_installations_secret_refuses_it(trained, tmp_path, monkeypatch):
    store, project = trained
    pointer = (project.model_dir / modelfile.POINTER).read_bytes()
    monkeypatch.setenv("STUDIO_CONFIG", str(tmp_path / "another-installation"))
    signing.secret()
    with pytest.raises(UntrustedModel, match="signature does not match"):
        Predictor.from_project(project)
    err = one_line_error(run_cli("predict", "rps", IMAGE, captures=store.root, check=False))
    assert "not made by this studio installation" in err
    assert run_cli("predict", "--trust", "rps", IMAGE, captures=store.root).stdout.startswith(f"{IMAGE}\t")
    assert (project.model_dir / modelfile.POINTER).read_bytes() == pointer  # --trust loads, never re-signs


def test_the_signature_covers_labels_and_spec(trained):
    _, project = trained
    path = project.model_dir / modelfile.POINTER
    meta = json.loads(path.read_text())
    for edit in ({"labels": meta["labels"][::-1]}, {"spec": {**meta["spec"], "size": 32}}):
        path.write_text(json.dumps({**meta, **edit}))
        with pytest.raises(UntrustedModel):
            modelfile.load(project.model_dir)
    path.write_text(json.dumps(meta))
    assert modelfile.load(project.model_dir).labels == meta["labels"]


# ---- the secret --------------------------------------------------------------------------------
def test_the_secret_is_made_once_readable_by_the_user_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG", str(tmp_path / "config"))
    key = signing.secret()
    path = tmp_path / "config" / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 64
    assert signing.secret() == key and [p.name for p in path.parent.iterdir()] == ["secret"]
    monkeypatch.delenv("STUDIO_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert signing.secret_path() == tmp_path / "xdg" / "studio" / "secret"


def test_a_secret_that_cannot_be_made_is_said_before_training(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("STUDIO_CONFIG", str(tmp_path / "a-file" / "studio"))
    project = make_project(Store(tmp_path / "captures"), "rps", "rps", n=3)
    with pytest.raises(StudioError, match=r"cannot create .*secret.*STUDIO_CONFIG"):
        train(project, RECIPE)
    assert not modelfile.exists(project.model_dir)
