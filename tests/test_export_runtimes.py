"""Every script and snippet of an export, run by its own runtime in a separate process without
studio, on real images: each Python one in a fresh virtual environment that holds only the
packages its format says it needs (pinned as in requirements.txt), predict.mjs with Node.js
after ``npm install``. All must agree with studio's own predictions.

The virtual environments are made once per session, in the background while models train.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import venv
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import DATA, FIXTURES, ROOT
from helpers import clean_env, doodle, fixture_images, make_project
from PIL import Image
from test_export_formats import AGREEMENT, FEATURES, agreement_images, write_agreement

from studio.export import formats
from studio.export.bundle import export
from studio.features.image import HogSpec, PixelsSpec
from studio.features.pretrained import PretrainedSpec
from studio.model.predictor import Predictor, format_line
from studio.model.settings import HEADS, TrainSettings
from studio.model.training import train
from studio.samples.store import Store

SCRIPTS = {"joblib": "predict.py", "skops": "predict_skops.py", "onnx": "predict_onnx.py"}
# joblib, skops: BLAS rounding, which differs between processes by ~1e-6 on some processors
TOLERANCE = {"joblib": 1e-5, "skops": 1e-5, "onnx": 1e-4, "node": 1e-3}
ROUNDING = 5e-5  # snippets print 4 decimals


class Venvs:
    """Virtual environments keyed by their package set, each made once, on background threads."""

    def __init__(self, root: Path):
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=3)
        self.made: dict[frozenset[str], Future] = {}
        self.lock = threading.Lock()

    def start(self, packages: list[str]) -> None:
        key = frozenset(packages)
        with self.lock:
            if key not in self.made:
                self.made[key] = self.pool.submit(self._make, sorted(key))

    def python(self, packages: list[str]) -> Path:
        """The interpreter of the environment holding exactly ``packages`` (and their dependencies)."""
        self.start(packages)
        try:
            return self.made[frozenset(packages)].result()
        except RuntimeError as e:
            pytest.skip(str(e))

    def _make(self, packages: list[str]) -> Path:
        folder = self.root / "+".join(packages)
        venv.create(folder, with_pip=False)
        python = folder / "bin" / "python"
        pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile",
                              "--disable-pip-version-check", "-c", str(ROOT / "requirements.txt"), *packages],
                             capture_output=True, text=True, env=clean_env(), timeout=900)
        if pip.returncode != 0:
            raise RuntimeError(f"cannot pip install {' '.join(packages)} into a fresh venv: {pip.stderr[-400:]}")
        return python

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def venvs(tmp_path_factory):
    made = Venvs(tmp_path_factory.mktemp("venvs"))
    yield made
    made.close()


def awkward_images(folder: Path) -> list[Path]:
    """A real photo in the formats and modes people have: transparency, grey, CMYK, palette,
    16-bit, EXIF rotation, tiny and large, under names with spaces and Hangul."""
    folder.mkdir(parents=True)
    src = Image.open(fixture_images("face_mask", "with_mask")[-1]).convert("RGB")
    gradient = Image.linear_gradient("L").resize(src.size)
    rgba, la = src.convert("RGBA"), src.convert("LA")
    rgba.putalpha(gradient)
    la.putalpha(gradient)
    exif = src.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    wide = np.random.default_rng(0).integers(0, 65536, (src.height, src.width), dtype=np.uint16)
    made = {
        "사진 alpha.png": lambda p: rgba.save(p),
        "grey alpha.png": lambda p: la.save(p),
        "grey.png": lambda p: src.convert("L").save(p),
        "cmyk.jpg": lambda p: src.convert("CMYK").save(p),
        "palette.gif": lambda p: src.convert("P", palette=Image.Palette.ADAPTIVE).save(p),
        "colour key.png": lambda p: src.save(p, transparency=(0, 0, 0)),
        "wide16.png": lambda p: Image.fromarray(wide).save(p),
        "rotated.jpg": lambda p: src.save(p, exif=exif),
        "tiny.png": lambda p: src.resize((5, 3)).save(p),
        "large.jpg": lambda p: src.resize((1280, 960)).save(p, quality=85),
    }
    for name, save in made.items():
        save(folder / name)
    return [folder / name for name in made]


def sketch_images(folder: Path) -> list[Path]:
    """Real doodles (quickdraw) and a transparent one drawn small in a corner."""
    base = DATA / "quickdraw" if (DATA / "quickdraw").is_dir() else FIXTURES / "quickdraw"
    files = [f for c in sorted(p for p in base.iterdir() if p.is_dir()) for f in sorted(c.iterdir())[:5]]
    folder.mkdir(parents=True)
    doodle(280, (10, 20, 60), alpha=True).save(folder / "corner doodle.png")
    return files + [folder / "corner doodle.png"]


@pytest.fixture(scope="module")
def exports(venvs, tmp_path_factory):
    """Every model kind on both feature kinds (photos), and sketches, each exported in every format,
    with the images to predict and what studio predicts for them."""
    for fmt in formats.DEFAULT_FORMATS:
        for spec in (HogSpec(), PixelsSpec(), PretrainedSpec()):
            venvs.start(formats.FORMATS[fmt].needs(SimpleNamespace(spec=spec)))
    tmp = tmp_path_factory.mktemp("exports")
    store = Store(tmp / "captures")
    photos = make_project(store, "손 Hands", "rps", classes=["scissors", "rock", "paper"])
    sketches = make_project(store, "Doodles", "quickdraw", kind="sketch",
                            classes=["fish", "eye", "diamond", "cat", "bicycle", "apple"])
    photo_images = agreement_images(8) + awkward_images(tmp / "awkward images")
    sketch_imgs = sketch_images(tmp / "sketches")
    jobs = [(photos, kind, feat, photo_images) for feat in FEATURES for kind in HEADS]
    jobs.append((photos, "auto", "pretrained", photo_images))  # the network's features, the default for photos
    jobs += [(sketches, "svc", feat, sketch_imgs) for feat in FEATURES]
    out = []
    for project, kind, feat, images in jobs:
        record = train(project, TrainSettings(model=kind, features=feat, epochs=30))
        predictor = Predictor.from_record(record)
        conf = predictor.predict_batch(images)
        out.append({"name": f"{kind}/{feat}/{record.spec.framing}", "record": record,
                    "folder": export(record, tmp / "out").folder, "images": [str(p) for p in images],
                    "studio": [(predictor.top_of(c)[0], c) for c in conf]})
    yield out
    write_agreement()


def run(args: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, encoding="utf-8", cwd=cwd,
                          env=clean_env(), timeout=timeout)


def compare(entry: dict, rows: list[dict], key: str) -> None:
    """Check JSON rows against studio's predictions and record the agreement under ``key``."""
    assert [r["path"] for r in rows] == entry["images"]
    labels_same = [r["label"] == want for r, (want, _) in zip(rows, entry["studio"])]
    diff = max(abs(r["confidences"][lb] - p) for r, (_, conf) in zip(rows, entry["studio"]) for lb, p in conf.items())
    AGREEMENT[f"{key}/{entry['name']}"] = {"images": len(rows), "max_prob_diff": diff,
                                           "top_class_agreement": sum(labels_same) / len(rows)}
    assert all(labels_same), [r["path"] for r, ok in zip(rows, labels_same) if not ok]
    tolerance = TOLERANCE[key.split("-")[0]]
    trees = getattr(entry["record"].estimator.named_steps["model"], "n_estimators", None)
    if key.startswith("node") and trees:  # JS float32 features may put one tree on the other side of a split
        tolerance = max(tolerance, 1.0 / trees + 1e-6)
    assert diff <= tolerance, (entry["name"], diff, tolerance)


def parallel(fn, items) -> list:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fn, items))


# Runs each export's script as ``python SCRIPT --json IMAGE...`` would, several exports in one
# interpreter so that scikit-learn and skops are imported once per environment, not once per model.
SWEEP = """import contextlib, io, json, runpy, sys
out = {}
for folder, script, images in json.loads(sys.argv[1]):
    sys.argv = [script, "--json", *images]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        try:
            runpy.run_path(f"{folder}/{script}", run_name="__main__")
        except SystemExit as e:
            assert not e.code, (folder, e.code)
    out[folder] = printed.getvalue()
print(json.dumps(out))
"""


@pytest.mark.parametrize("fmt", list(SCRIPTS))
def test_standalone_script_agrees_with_studio(exports, venvs, fmt):
    groups: dict[tuple[str, ...], list[dict]] = {}
    for entry in exports:
        groups.setdefault(tuple(formats.FORMATS[fmt].needs(entry["record"])), []).append(entry)

    def sweep(item):
        needs, entries = item
        jobs = [[str(e["folder"]), SCRIPTS[fmt], e["images"]] for e in entries]
        return run([venvs.python(list(needs)), "-c", SWEEP, json.dumps(jobs)], entries[0]["folder"])

    printed = {}
    for out in parallel(sweep, groups.items()):
        assert out.returncode == 0 and out.stderr == "", out.stderr[-2000:]
        printed.update(json.loads(out.stdout))
    for entry in exports:
        compare(entry, [json.loads(line) for line in printed[str(entry["folder"])].splitlines()], f"{fmt}-script")


@pytest.mark.parametrize("fmt", list(SCRIPTS))
def test_standalone_script_prints_what_studio_predict_prints(exports, venvs, fmt, tmp_path):
    entry = exports[0]
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    python = venvs.python(formats.FORMATS[fmt].needs(entry["record"]))
    out = run([python, SCRIPTS[fmt], *entry["images"][:6], tmp_path / "broken.jpg"], entry["folder"])
    assert out.returncode == 1 and "broken.jpg: cannot predict" in out.stderr and "Traceback" not in out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    for (path, label, conf), want_path, (want, probs) in zip(lines, entry["images"], entry["studio"], strict=False):
        assert (path, label) == (want_path, want)
        assert abs(float(conf) - probs[want]) <= TOLERANCE[fmt] + ROUNDING
        if fmt != "onnx":
            assert "\t".join((path, label, conf)) == format_line(want_path, want, probs[want])
    usage = run([python, SCRIPTS[fmt]], entry["folder"])
    assert usage.returncode == 2 and f"usage: python {SCRIPTS[fmt]} IMAGE" in usage.stdout


def test_each_venv_holds_only_what_its_format_needs(exports, venvs):
    absent = {"joblib": ["onnxruntime", "skops"], "skops": ["onnxruntime"],
              "onnx": ["sklearn", "scipy", "joblib", "skops"]}
    for fmt in SCRIPTS:
        for entry in (exports[0], exports[len(HEADS)]):  # svc on hog, svc on pixels
            record = entry["record"]
            python = venvs.python(formats.FORMATS[fmt].needs(record))
            missing = ["studio", *absent[fmt], *(["cv2"] if record.spec.kind == "pixels" else [])]
            probe = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
            out = run([python, "-c", probe, *missing], entry["folder"])
            assert out.returncode == 0 and out.stdout.strip() == "[]", (fmt, out.stdout, out.stderr)


@pytest.mark.parametrize("fmt", list(SCRIPTS))
def test_python_snippet_runs_in_its_own_venv(exports, venvs, fmt):
    for entry in (exports[0], exports[len(HEADS)], exports[-1]):  # hog, pixels, sketch
        meta = json.loads((entry["folder"] / "metadata.json").read_text(encoding="utf-8"))
        (entry["folder"] / "example.py").write_text(meta["snippets"][fmt], encoding="utf-8")
        image = entry["images"][-1]
        out = run([venvs.python(formats.FORMATS[fmt].needs(entry["record"])), "example.py", image], entry["folder"])
        assert out.returncode == 0, out.stderr
        printed = dict(line.split("\t") for line in out.stdout.splitlines())
        _, want = entry["studio"][-1]
        assert set(printed) == set(want)
        assert all(abs(float(printed[lb]) - p) <= TOLERANCE[fmt] + ROUNDING for lb, p in want.items())


# ---- Node.js -----------------------------------------------------------------------------------
def node_ready(entry: dict, modules: Path) -> Path:
    folder = entry["folder"]
    assert json.loads((folder / "package.json").read_text())["dependencies"] == formats.NODE_PACKAGES
    assert (folder / ".npmrc").read_text() == "ignore-scripts=true\n"
    if not (folder / "node_modules").exists():
        (folder / "node_modules").symlink_to(modules, target_is_directory=True)
    return folder


def test_predict_mjs_agrees_with_studio(exports, node_modules):
    outs = parallel(lambda e: run(["node", "predict.mjs", "--json", *e["images"]], node_ready(e, node_modules)),
                    exports)
    for entry, out in zip(exports, outs):
        assert out.returncode == 0 and out.stderr == "", f"{entry['name']}: {out.stderr[-2000:]}"
        compare(entry, [json.loads(line) for line in out.stdout.splitlines()], "node-predict.mjs")


def test_predict_mjs_prints_what_studio_predict_prints(exports, node_modules, tmp_path):
    entry = exports[-1]  # a sketch model
    (tmp_path / "broken.png").write_bytes(b"not an image")
    out = run(["node", "predict.mjs", *entry["images"], tmp_path / "broken.png"], node_ready(entry, node_modules))
    assert out.returncode == 1 and "broken.png: cannot predict" in out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    assert [(p, lb) for p, lb, _ in lines] == [(p, want) for p, (want, _) in zip(entry["images"], entry["studio"])]
    for (_, label, conf), (_, probs) in zip(lines, entry["studio"]):
        assert abs(float(conf) - probs[label]) <= TOLERANCE["node"] + ROUNDING
    usage = run(["node", "predict.mjs"], entry["folder"])
    assert usage.returncode == 2 and "usage: node predict.mjs" in usage.stdout


def test_node_snippet_runs(exports, node_modules):
    entry = exports[0]
    folder = node_ready(entry, node_modules)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    (folder / "example.mjs").write_text(meta["node"]["snippet"], encoding="utf-8")
    out = run(["node", "example.mjs", entry["images"][0]], folder)
    assert out.returncode == 0, out.stderr
    printed = dict(line.split("\t") for line in out.stdout.splitlines())
    _, want = entry["studio"][0]
    assert set(printed) == set(want)
    assert all(abs(float(printed[lb]) - p) <= TOLERANCE["node"] + ROUNDING for lb, p in want.items())
