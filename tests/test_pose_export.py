"""Pose models exported in every format and run without studio: predict.py, predict_skops.py and
predict_onnx.py each in a fresh virtual environment holding only what its format says it needs,
predict.mjs with Node.js (pose_kernel.mjs beside it). On every held-back pose (real landmarks from
the yoga photos of tests/fixtures/pose, and awkward ones: no visibility, no frame size, a body cut
off by the frame) all agree with studio's own predictions; bad JSON gets one line naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES
from pose_figures import POSES, figure, jitter
from test_export_formats import AGREEMENT, write_agreement
from test_export_runtimes import ROUNDING, SCRIPTS, TOLERANCE, Venvs, run

from studio.export import formats
from studio.export.bundle import export
from studio.features.pose import KERNEL_JS, LandmarksSpec
from studio.model.predictor import Predictor, format_line
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples.store import Store

YOGA = FIXTURES / "pose"
HEADS = ("auto", "svc", "forest", "mlp")  # auto: logistic regression


@pytest.fixture(scope="module")
def venvs(tmp_path_factory):
    made = Venvs(tmp_path_factory.mktemp("pose-venvs"))
    yield made
    made.close()


def training_poses() -> dict[str, list]:
    """{class: [pose source, ...]}: the yoga fixtures' landmarks when present, else stick figures."""
    if (YOGA / "tree").is_dir():
        return {c.name: sorted(c.glob("*.json")) for c in sorted(YOGA.iterdir()) if c.is_dir() and c.name != "photos"}
    rng = np.random.default_rng(0)
    return {name: [jitter(figure(**angles), rng) for _ in range(10)] for name, angles in POSES.items()}


def awkward(folder: Path, base: dict) -> list[Path]:
    """A pose as files come: no visibility, no frame size, a bare list, limbs off the frame."""
    folder.mkdir(parents=True)
    rows = base["landmarks"]
    off = [[x, y + 0.5, z, v] for x, y, z, v in rows]  # the legs below the frame
    made = {"no visibility.json": {**base, "landmarks": [r[:3] for r in rows]},
            "no size.json": {"landmarks": rows}, "bare list.json": rows,
            "cut off.json": {**base, "landmarks": off}}
    for name, data in made.items():
        (folder / name).write_text(json.dumps(data))
    return [folder / name for name in made]


@pytest.fixture(scope="module")
def exports(venvs, tmp_path_factory):
    for fmt in formats.DEFAULT_FORMATS:
        venvs.start(formats.FORMATS[fmt].needs(SimpleNamespace(spec=LandmarksSpec())))
    tmp = tmp_path_factory.mktemp("pose-exports")
    project = Store(tmp / "captures").create("Yoga", "pose", classes=list(training_poses()))
    held = []
    for label, sources in training_poses().items():
        for i, source in enumerate(sources):
            if i % 4 == 3:
                path = tmp / "held" / label / f"{i}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(source.read_text() if isinstance(source, Path) else json.dumps(source))
                held.append(path)
            else:
                project.add_sample(label, source)
    poses = [str(p) for p in held + awkward(tmp / "awkward", json.loads(held[0].read_text()))]
    out = []
    for head in HEADS:
        record = train(project, TrainSettings.from_dict(project.settings()).updated(model=head, epochs=30))
        predictor = Predictor.from_record(record)
        conf = predictor.predict_batch(poses)
        out.append({"name": f"{head}/landmarks", "record": record, "folder": export(record, tmp / "out").folder,
                    "poses": poses, "studio": [(predictor.top_of(c)[0], c) for c in conf]})
    yield out
    write_agreement()


def compare(entry: dict, rows: list[dict], key: str) -> None:
    assert [r["path"] for r in rows] == entry["poses"]
    same = [r["label"] == want for r, (want, _) in zip(rows, entry["studio"])]
    diff = max(abs(r["confidences"][lb] - p) for r, (_, conf) in zip(rows, entry["studio"]) for lb, p in conf.items())
    AGREEMENT[f"{key}/pose/{entry['name']}"] = {"poses": len(rows), "max_prob_diff": diff,
                                                "top_class_agreement": sum(same) / len(rows)}
    assert all(same), [r["path"] for r, ok in zip(rows, same) if not ok]
    assert diff <= TOLERANCE[key.split("-")[0]], (entry["name"], key, diff)


def test_a_pose_export_has_every_format_and_the_web_page(exports):
    folder = exports[0]["folder"]
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert set(meta["files"]) == {"joblib", "skops", "onnx", "web"}
    assert formats.available_formats(exports[0]["record"]) == {"joblib": None, "skops": None, "onnx": None,
                                                               "web": None}
    assert (folder / KERNEL_JS).is_file() and (folder / "web" / "index.html").is_file()
    assert meta["onnx"]["input_shape"] == ["N", LandmarksSpec().vector_length]
    assert json.loads((folder / "package.json").read_text())["dependencies"] == {
        "onnxruntime-node": formats.NODE_PACKAGES["onnxruntime-node"]}


@pytest.mark.parametrize("fmt", list(SCRIPTS))
def test_each_script_in_its_own_venv_agrees_with_studio_on_every_pose(exports, venvs, fmt, tmp_path):
    python = venvs.python(formats.FORMATS[fmt].needs(exports[0]["record"]))
    for entry in exports:
        out = run([python, SCRIPTS[fmt], "--json", *entry["poses"]], entry["folder"])
        assert out.returncode == 0 and out.stderr == "", out.stderr[-2000:]
        compare(entry, [json.loads(line) for line in out.stdout.splitlines()], f"{fmt}-script")
    entry = exports[0]
    lines = run([python, SCRIPTS[fmt], *entry["poses"]], entry["folder"]).stdout.splitlines()
    if fmt != "onnx":  # scikit-learn on the very same vectors: studio predict's own lines
        assert lines == [format_line(p, want, conf[want]) for p, (want, conf) in zip(entry["poses"], entry["studio"])]
    bad = tmp_path / "bad.json"
    bad.write_text('{"landmarks": [[0.5, 0.5, 0, 1]]}')
    out = run([python, SCRIPTS[fmt], str(bad)], entry["folder"])
    assert out.returncode == 1 and out.stderr.startswith(f"{bad}: cannot predict: landmarks must be 33 rows")
    probe = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    absent = run([python, "-c", probe, "studio", "PIL", "cv2", *(["sklearn"] if fmt == "onnx" else [])],
                 entry["folder"])
    assert absent.stdout.strip() == "[]", absent.stdout


def test_predict_mjs_agrees_with_studio_on_every_pose(exports, node_modules):
    for entry in exports:
        folder = entry["folder"]
        (folder / "node_modules").symlink_to(node_modules, target_is_directory=True)
        out = run(["node", "predict.mjs", "--json", *entry["poses"]], folder)
        assert out.returncode == 0 and out.stderr == "", f"{entry['name']}: {out.stderr[-2000:]}"
        compare(entry, [json.loads(line) for line in out.stdout.splitlines()], "node-predict.mjs")
    entry = exports[0]
    plain = run(["node", "predict.mjs", *entry["poses"]], entry["folder"]).stdout.splitlines()
    for line, (want, conf) in zip(plain, entry["studio"]):
        _, label, printed = line.split("\t")
        assert label == want and abs(float(printed) - conf[want]) <= TOLERANCE["node"] + ROUNDING
