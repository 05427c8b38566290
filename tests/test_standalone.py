"""The exported predict.py, run by a Python that has no studio: only numpy, Pillow,
scikit-learn, joblib and OpenCV, pinned as in requirements.txt, in a virtual environment this
test creates. It must print exactly what ``studio predict`` prints."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT
from helpers import clean_env, fixture_images, run_cli
from PIL import Image

from studio.export.bundle import export
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples.store import Store

# what predict.py may need, and scikit-learn's own dependencies, at studio's pinned versions
STANDALONE = ("numpy", "pillow", "scikit-learn", "joblib", "opencv-python-headless", "scipy", "threadpoolctl")


def pins() -> list[str]:
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if m and m.group(1).lower() in STANDALONE:
            found[m.group(1).lower()] = f"{m.group(1)}=={m.group(2)}"
    return [found.get(name, name) for name in STANDALONE]


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory) -> Path:
    """A virtual environment with numpy, Pillow, scikit-learn, joblib and OpenCV, and no studio."""
    root = tmp_path_factory.mktemp("bare-venv")
    venv = root / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment: {made.stderr.strip()[-300:]}")
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins()],
                         capture_output=True, text=True, env=clean_env(), cwd=root, timeout=900)
    if pip.returncode != 0:
        pytest.skip(f"cannot install {' '.join(pins())} into a fresh venv: {pip.stderr.strip()[-400:]}")
    return python


def run_bare(python: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], capture_output=True, text=True, encoding="utf-8", cwd=cwd,
                          env=clean_env(), timeout=300)


def test_the_bare_venv_has_no_studio(bare_python, tmp_path):
    probe = run_bare(bare_python, ["-c", "import studio"], tmp_path)
    assert probe.returncode != 0 and "No module named 'studio'" in probe.stderr
    versions = run_bare(bare_python, ["-c", "import numpy, PIL, sklearn, joblib, cv2; "
                                      "print(numpy.__version__, PIL.__version__, sklearn.__version__, "
                                      "joblib.__version__, cv2.__version__)"], tmp_path)
    assert versions.returncode == 0, versions.stderr
    import cv2
    import joblib
    import PIL
    import sklearn
    assert versions.stdout.split() == [np.__version__, PIL.__version__, sklearn.__version__, joblib.__version__,
                                       cv2.__version__]


def awkward_images(folder: Path, set_name: str) -> list[Path]:
    """Real images held back from training, under awkward names and in awkward formats."""
    folder.mkdir(parents=True)
    out = []
    for label in sorted(p.name for p in (FIXTURES / set_name).iterdir() if p.is_dir()):
        for f in fixture_images(set_name, label)[-2:]:
            dest = folder / f"{label} 사진 {f.name}"
            shutil.copy(f, dest)
            out.append(dest)
    src = Image.open(out[0]).convert("RGB")
    rgba = src.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(src.size))
    rgba.save(folder / "alpha.png")
    src.convert("L").save(folder / "grey.png")
    src.convert("CMYK").save(folder / "cmyk.jpg")
    src.convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "palette.gif")
    wide = np.asarray(src.convert("L"), dtype=np.uint16) * 257
    Image.fromarray(wide).save(folder / "sixteen.png")
    exif = src.getexif()
    exif[0x0112] = 8
    src.save(folder / "rotated.jpg", exif=exif)
    return out + [folder / n for n in ("alpha.png", "grey.png", "cmyk.jpg", "palette.gif", "sixteen.png",
                                       "rotated.jpg")]


@pytest.mark.parametrize("set_name, kind, settings, order, needs_cv2", [
    ("rps", "photo", {}, None, True),  # the default recipe: HOG + RBF SVC, mirrored copies
    ("quickdraw", "sketch", {"model": "knn"}, ["fish", "eye", "diamond", "cat", "bicycle", "apple"], True),
    ("face_mask", "photo", {"model": "mlp", "features": "pixels", "epochs": 20}, None, False),
])
def test_exported_predict_py_reproduces_studio_predict(bare_python, tmp_path, set_name, kind, settings, order,
                                                       needs_cv2):
    caps = tmp_path / "captures"
    classes = order or sorted(p.name for p in (FIXTURES / set_name).iterdir() if p.is_dir())
    project = Store(caps).create("P", kind, classes=classes)
    for label in classes:
        for f in fixture_images(set_name, label)[:-2]:  # the last two of each class are held back
            project.add_sample(label, f)
    record = train(project, TrainSettings(**settings))
    folder = export(record, tmp_path / "exports", formats=["joblib"]).folder
    images = [str(p) for p in awkward_images(tmp_path / "images", set_name)]

    studio_says = run_cli("predict", "P", *images, captures=caps).stdout.splitlines()
    assert len(studio_says) == len(images)
    if needs_cv2:
        bare = run_bare(bare_python, ["predict.py", *images], folder)
    else:  # pixel features must not need OpenCV at all
        block = ("import runpy, sys; sys.modules['cv2'] = None; sys.argv = ['predict.py'] + sys.argv[1:]; "
                 "runpy.run_path('predict.py', run_name='__main__')")
        bare = run_bare(bare_python, ["-c", block, *images], folder)
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.splitlines() == studio_says
    assert bare.stderr == ""

    # what the course does: joblib.load the model and compute features with the exported code
    code = (
        "import json, sys, joblib\n"
        "from predict import extract, load_rgb\n"
        "meta = json.load(open('metadata.json', encoding='utf-8'))\n"
        "model = joblib.load('model.joblib')\n"
        "X = [extract(load_rgb(p), meta['feature_spec']) for p in sys.argv[1:]]\n"
        "print(type(model).__name__)\n"
        "print('\\n'.join(model.predict(X)))\n"
    )
    course = run_bare(bare_python, ["-c", code, *images], folder)
    assert course.returncode == 0, course.stderr
    kind_line, *labels = course.stdout.splitlines()
    assert kind_line == "Pipeline"
    assert labels == [line.split("\t")[1] for line in studio_says]
