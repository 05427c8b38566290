"""Sound projects through the command line, in subprocesses as a user runs them, and the
exported scripts run by a Python process in which studio cannot be imported, and by Node.js."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import FIXTURES, data_set
from helpers import clean_env, run_cli, run_without_studio

from studio.features import speech
from studio.samples import sounds

DIGITS = FIXTURES / "spoken_digits"
LABELS = ("0", "1", "2")


def held_back(label: str) -> list:
    """Take 19 of each speaker: never added to the project."""
    return sorted((DIGITS / label).glob("*_19.wav"))


def recording(paths, gap: float = 0.7) -> sounds.Clip:
    sr = 16000
    pause = np.zeros(int(gap * sr), np.float32)
    return sounds.Clip(np.concatenate([pause] + [x for p in paths for x in (sounds.load(p).at(sr).samples, pause)]), sr)


def write_wav(path, clip: sounds.Clip):
    path.write_bytes(sounds.to_wav(clip))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Project 'digits' made, filled and trained with the CLI (default features: the speech embedding)."""
    return make_trained(tmp_path_factory.mktemp("sound-cli"))


@pytest.fixture(scope="module")
def trained_logmel(tmp_path_factory):
    """The same project trained on the log-mel features (the default before the speech embedding)."""
    return make_trained(tmp_path_factory.mktemp("sound-cli-logmel"), "--features", "logmel")


@pytest.fixture(params=["speech", "logmel"])
def either(request):
    """Each sound feature kind's trained project, and the kind."""
    return request.getfixturevalue("trained" if request.param == "speech" else "trained_logmel"), request.param


def make_trained(tmp, *train_flags: str) -> dict:
    """Background noise from a long recording kept whole, three digit classes from clips and from a
    recording split at its pauses, trained with ``train_flags``."""
    caps = tmp / "captures"
    out = {"captures": caps, "tmp": tmp}
    out["new"] = run_cli("new", "digits", "--kind", "sound", captures=caps)
    run_cli("rename-class", "digits", "Class 2", "0", captures=caps)
    for label in LABELS[1:]:
        run_cli("add-class", "digits", label, captures=caps)
    noise = np.random.default_rng(0).normal(0, 0.01, 16000 * 6).astype(np.float32)
    out["noise"] = run_cli("add", "digits", "Background noise", write_wav(tmp / "room.wav", sounds.Clip(noise, 16000)),
                           "--keep-silence", captures=caps)
    for label in LABELS:
        takes = sorted(p for p in (DIGITS / label).glob("*.wav") if not p.name.endswith("_19.wav"))
        run_cli("add", "digits", label, *takes[:6], captures=caps)
        said = write_wav(tmp / f"says-{label}.wav", recording(takes[6:]))
        out[f"split-{label}"] = run_cli("add", "digits", label, said, "--split", captures=caps)
    out["train"] = run_cli("train", "digits", "--json", *train_flags, captures=caps)
    return out


def test_a_new_sound_project_has_a_background_noise_class(trained):
    assert "Created sound project 'digits'" in trained["new"].stdout
    classes = run_cli("classes", "digits", captures=trained["captures"]).stdout.splitlines()
    assert classes == ["Background noise\t6", "0\t8", "1\t8", "2\t8"]
    assert "Added 6 clip(s) to 'Background noise'." in trained["noise"].stdout
    assert all("Added 2 clip(s)" in trained[f"split-{lb}"].stdout for lb in LABELS)
    listed = json.loads(run_cli("samples", "digits", "0", "--json", captures=trained["captures"]).stdout)
    assert len(listed) == 8 and all(s["name"].endswith(".wav") for s in listed)


def test_train_reports_like_for_images(either):
    trained, features = either
    summary = json.loads(trained["train"].stdout)
    assert summary["features"]["kind"] == features and summary["model"] == {"speech": "logistic", "logmel": "svc"}[
        features]
    assert summary["n_train"] + summary["n_test"] == 30
    assert set(summary["per_class"]) == {"Background noise", *LABELS}


def test_train_and_evaluate_speak_of_clips_not_images(trained, tmp_path):
    """What a sound project's user reads says clips: the progress lines, the summary, evaluate's."""
    train = run_cli("train", "digits", captures=trained["captures"])  # the same settings: the same model
    summary = r"^Trained \w+ on \d+ clips \(.*test accuracy .* on \d+ held-back clips"
    assert re.search(summary, train.stdout), train.stdout
    assert "Reading clips" in train.stderr
    for lb in LABELS:
        (tmp_path / lb).mkdir()
        for p in held_back(lb):
            shutil.copy(p, tmp_path / lb / p.name)
    evaluate = run_cli("evaluate", "digits", tmp_path, captures=trained["captures"])
    assert evaluate.stdout.startswith("Accuracy ") and " on 12 clips" in evaluate.stdout.splitlines()[0]
    for out in (train, evaluate):
        assert "image" not in (out.stdout + out.stderr).lower(), out


def test_predict_and_evaluate_wav_files(either):
    trained, _ = either
    files = [str(p) for lb in LABELS for p in held_back(lb)]
    lines = run_cli("predict", "digits", *files, captures=trained["captures"]).stdout.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == files
    right = sum(ln.split("\t")[1] == p.split("/")[-2] for ln, p in zip(lines, files))
    assert right >= 9, lines  # other takes of the same speakers
    assert all(0 < float(ln.split("\t")[2]) <= 1 for ln in lines)
    folder = trained["tmp"] / "held"
    for lb in LABELS:
        (folder / lb).mkdir(parents=True)
        for p in held_back(lb):
            shutil.copy(p, folder / lb / p.name)
    (folder / "0" / "notes.txt").write_text("skipped")
    report = json.loads(run_cli("evaluate", "digits", folder, "--json", captures=trained["captures"]).stdout)
    assert report["n"] == 12 and report["accuracy"] == right / 12


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs Debian's ffmpeg")
def test_add_an_mp3(trained, tmp_path):
    mp3 = tmp_path / "two.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(held_back("2")[0]), str(mp3)], check=True)
    caps = tmp_path / "caps"
    run_cli("new", "x", "--kind", "sound", captures=caps)
    assert "Imported 1 clip(s)" in run_cli("add", "x", "Class 2", mp3, captures=caps).stdout


def test_user_mistakes_are_one_line_and_status_1(trained, tmp_path):
    caps = trained["captures"]
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    for args in (("add", "digits", "0", text), ("train", "digits", "--features", "hog"),
                 ("add", "digits", "0", tmp_path / "missing.wav", "--split")):
        proc = run_cli(*args, captures=caps, check=False)
        assert proc.returncode == 1, args
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    run_cli("new", "pics", captures=tmp_path / "c2")
    proc = run_cli("add", "pics", "Class 1", held_back("0")[0], "--split", captures=tmp_path / "c2", check=False)
    assert proc.returncode == 1 and "sound projects" in proc.stderr


def test_exported_scripts_predict_wav_files_without_studio(either, tmp_path):
    trained, features = either
    caps = trained["captures"]
    run_cli("export", "digits", "--out", tmp_path, captures=caps)
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert meta["feature_spec"]["kind"] == features and meta["labels"] == ["Background noise", *LABELS]
    if features == "logmel":
        assert any("MFCC" in step for step in meta["preprocessing"])
        assert not (folder / "speech.onnx").exists() and not (folder / speech.NOTICE_FILE).exists()
    else:  # the network travels in the export, with its licence and attribution
        assert any("speech.onnx" in step for step in meta["preprocessing"])
        assert meta["files"]["features"] == ["speech.onnx", speech.NOTICE_FILE]
        assert meta["speech_embedding"]["licence"].startswith("Apache-2.0")
        notice = (folder / speech.NOTICE_FILE).read_text(encoding="utf-8")
        assert "Google LLC" in notice and "arXiv:2002.01322" in notice and "Apache License" in notice
        for script in ("predict.py", "predict_skops.py", "predict_onnx.py", "predict.mjs"):
            assert speech.NOTICE_FILE in (folder / script).read_text(encoding="utf-8"), script
    files = [str(p) for lb in LABELS for p in held_back(lb)]
    expected = run_cli("predict", "digits", *files, captures=caps).stdout
    done = run_without_studio(folder / "predict.py", files, folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
    for script in ("predict_onnx.py", "predict_skops.py"):
        other = run_without_studio(folder / script, files, folder)
        assert other.returncode == 0, other.stderr
        assert [ln.split("\t")[1] for ln in other.stdout.splitlines()] == \
            [ln.split("\t")[1] for ln in expected.splitlines()]
        if script == "predict_skops.py":  # the same features, the same estimator: the same lines
            assert other.stdout == expected
    reopened = run_cli("predict", folder, *files, captures=caps).stdout
    assert [ln.split("\t")[1] for ln in reopened.splitlines()] == [ln.split("\t")[1] for ln in expected.splitlines()]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    bad = run_without_studio(folder / "predict.py", [broken], folder)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr


def test_node_predict_mjs_prints_what_predict_py_prints(either, node_modules, tmp_path):
    """The ONNX export's predict.mjs on real held-back clips, a stereo 44.1 kHz 16-bit WAV, a mono
    48 kHz float WAV and a broken one, run by Node.js as a user runs it: the lines predict.py prints."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly
    from test_export_formats import AGREEMENT, write_agreement
    from test_export_runtimes import ROUNDING, TOLERANCE

    from studio.export import formats

    trained, features = either
    caps = trained["captures"]
    run_cli("export", "digits", "--out", tmp_path / "out", "--format", "joblib,onnx", captures=caps)
    folder = next(p for p in (tmp_path / "out").iterdir() if p.is_dir())
    node_only = {"onnxruntime-node": formats.NODE_PACKAGES["onnxruntime-node"]}
    assert json.loads((folder / "package.json").read_text())["dependencies"] == node_only  # no sharp
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert meta["node"]["run"] == "npm install && node predict.mjs SOUND.wav [SOUND.wav ...]"
    (folder / "node_modules").symlink_to(node_modules, target_is_directory=True)

    _, pcm = wavfile.read(held_back("2")[1])  # 8 kHz
    x = pcm / 32768.0
    up = resample_poly(x, 441, 80)  # 8 kHz to 44.1 kHz
    wavfile.write(tmp_path / "stereo 44k.wav", 44100, np.round(np.stack([up, 0.6 * up], 1) * 32767).astype(np.int16))
    wavfile.write(tmp_path / "float 48k.wav", 48000, resample_poly(x, 6, 1).astype(np.float32))
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    good = [str(p) for lb in LABELS for p in held_back(lb)] + [str(tmp_path / "stereo 44k.wav"),
                                                               str(tmp_path / "float 48k.wav")]
    files = [*good[:-1], str(tmp_path / "broken.wav"), good[-1]]

    def node(*args):
        return subprocess.run(["node", "predict.mjs", *args], capture_output=True, text=True, encoding="utf-8",
                              cwd=folder, env=clean_env(), timeout=120)

    got = node(*files)
    assert got.returncode == 1 and got.stderr.splitlines() == [
        f"{tmp_path / 'broken.wav'}: cannot predict: not a readable WAV file (no data chunk)"]
    # the same features to the last bit, so the same numbers as predict_onnx.py, which runs the same model.onnx
    same_model = run_without_studio(folder / "predict_onnx.py", files, folder)
    assert same_model.returncode == 1 and got.stdout == same_model.stdout
    # scikit-learn's predict_proba in predict.py: the same labels, probabilities within the node tolerance
    want = run_without_studio(folder / "predict.py", files, folder)
    assert want.returncode == 1 and len(want.stderr.splitlines()) == 1
    lines = [ln.split("\t") for ln in got.stdout.splitlines()]
    expected = [ln.split("\t") for ln in want.stdout.splitlines()]
    assert [ln[0] for ln in lines] == good and [ln[:2] for ln in lines] == [ln[:2] for ln in expected]
    assert all(abs(float(a[2]) - float(b[2])) <= TOLERANCE["node"] + ROUNDING for a, b in zip(lines, expected))

    studio = json.loads(run_cli("predict", "digits", *good, "--json", captures=caps).stdout)
    rows = [json.loads(line) for line in node("--json", *good).stdout.splitlines()]
    top_same = [r["label"] for r in rows] == [s["label"] for s in studio]
    diff = max(abs(r["confidences"][lb] - p) for r, s in zip(rows, studio) for lb, p in s["confidences"].items())
    model = json.loads(trained["train"].stdout)["model"]
    AGREEMENT[f"node-predict.mjs/sound/{model}/{features}"] = {"clips": len(rows), "max_prob_diff": diff,
                                                      "top_class_agreement": float(top_same),
                                                      "lines_identical_to_predict.py": got.stdout == want.stdout}
    write_agreement()
    assert top_same and diff <= TOLERANCE["node"], diff

    (folder / "example.mjs").write_text(meta["node"]["snippet"], encoding="utf-8")
    example = subprocess.run(["node", "example.mjs", good[-2]], capture_output=True, text=True, encoding="utf-8",
                             cwd=folder, env=clean_env(), timeout=120)
    assert example.returncode == 0, example.stderr
    printed = dict(line.split("\t") for line in example.stdout.splitlines())
    want_conf = studio[-2]["confidences"]
    assert set(printed) == set(want_conf)
    assert all(abs(float(printed[lb]) - p) <= TOLERANCE["node"] + ROUNDING for lb, p in want_conf.items())
    usage = node()
    assert usage.returncode == 2 and "usage: node predict.mjs [--json] SOUND.wav" in usage.stdout


@pytest.mark.data
def test_a_voice_training_never_heard_is_recognised_by_studio_and_by_the_exported_predict_py(tmp_path):
    """Trained with the CLI on three speakers of ../shared/data/spoken_digits (all ten digits, the
    default features: the speech embedding), scored on the fourth: nicolas, the hardest of the four
    (bench/RESULTS.md), by `studio evaluate` and by the exported predict.py in a Python without studio."""
    folder = data_set("spoken_digits")
    caps = tmp_path / "captures"
    run_cli("new", "fsdd", "--kind", "sound", captures=caps)
    run_cli("rename-class", "fsdd", "Class 2", "0", captures=caps)
    run_cli("delete-class", "fsdd", "Background noise", "--yes", captures=caps)
    unseen = tmp_path / "nicolas"
    for digit in range(10):
        label = str(digit)
        if digit:
            run_cli("add-class", "fsdd", label, captures=caps)
        takes = sorted((folder / label).glob("*.wav"))
        run_cli("add", "fsdd", label, *[p for p in takes if "_nicolas_" not in p.name], captures=caps)
        (unseen / label).mkdir(parents=True)
        for p in takes:
            if "_nicolas_" in p.name:
                shutil.copy(p, unseen / label / p.name)
    trained = json.loads(run_cli("train", "fsdd", "--json", "--test-fraction", "0", captures=caps).stdout)
    assert trained["features"]["kind"] == "speech" and trained["model"] == "logistic"
    report = json.loads(run_cli("evaluate", "fsdd", unseen, "--json", captures=caps).stdout)
    assert report["n"] == 150 and report["accuracy"] >= 0.9, report["accuracy"]
    run_cli("export", "fsdd", "--out", tmp_path / "out", "--format", "joblib", captures=caps)
    export = next(p for p in (tmp_path / "out").iterdir() if p.is_dir())
    files = sorted(str(p) for p in unseen.glob("*/*.wav"))
    done = run_without_studio(export / "predict.py", files, export)
    assert done.returncode == 0, done.stderr
    lines = [ln.split("\t") for ln in done.stdout.splitlines()]
    right = sum(label == path.split("/")[-2] for path, label, _ in lines)
    assert len(lines) == 150 and right / 150 == report["accuracy"]
    assert done.stdout == run_cli("predict", "fsdd", *files, captures=caps).stdout
