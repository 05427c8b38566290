"""The command line, in subprocesses: `python -m studio --captures TMP ...` as a user runs it."""

import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT
from helpers import clean_env, fixture_images, make_tm, run_cli
from PIL import Image

HELD_BACK = 3  # the last images of each rps class are kept out of the project, to predict and evaluate


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A store with project 'rps' imported from a class-folder tree and trained, via the CLI."""
    tmp = tmp_path_factory.mktemp("cli")
    caps, train_set, held = tmp / "captures", tmp / "train", tmp / "held back"
    for label in ("paper", "rock", "scissors"):
        files = fixture_images("rps", label)
        (train_set / label).mkdir(parents=True)
        (held / label).mkdir(parents=True)
        for f in files[:-HELD_BACK]:
            shutil.copy(f, train_set / label / f.name)
        for f in files[-HELD_BACK:]:
            shutil.copy(f, held / label / f.name)
    imported = run_cli("import", "rps", train_set, captures=caps)
    trained = run_cli("train", "rps", captures=caps)
    return {"captures": caps, "held": held, "tmp": tmp, "import": imported, "train": trained}


def held_images(trained):
    return sorted(str(f) for f in trained["held"].rglob("*.jpg"))


# ---- projects and classes ---------------------------------------------------------------------
def test_new_projects_classes_add_class(tmp_path):
    caps = tmp_path / "caps"
    out = run_cli("projects", captures=caps)
    assert "no projects yet" in out.stdout
    out = run_cli("new", "마스크 검사", "--classes", "마스크", "맨얼굴", captures=caps)
    assert "Created photo project '마스크 검사'" in out.stdout and out.stderr == ""
    run_cli("new", "Doodles", "--kind", "sketch", captures=caps)
    run_cli("add-class", "마스크 검사", "턱스크", captures=caps)
    assert run_cli("projects", captures=caps).stdout.splitlines() == [
        "Doodles\tsketch\t2 classes\t0 images", "마스크 검사\tphoto\t3 classes\t0 images"]
    rows = json.loads(run_cli("projects", "--json", captures=caps).stdout)
    assert [(r["name"], r["kind"], r["classes"], r["images"]) for r in rows] == [
        ("Doodles", "sketch", 2, 0), ("마스크 검사", "photo", 3, 0)]
    assert run_cli("classes", "마스크 검사", captures=caps).stdout == "마스크\t0\n맨얼굴\t0\n턱스크\t0\n"
    assert run_cli("classes", "Doodles", captures=caps).stdout == "Class 1\t0\nClass 2\t0\n"


def test_classes_tab_and_json_after_import(trained):
    caps = trained["captures"]
    assert "Imported 27 image(s) into 3 class(es)" in trained["import"].stdout
    n = 12 - HELD_BACK
    assert run_cli("classes", "rps", captures=caps).stdout == f"paper\t{n}\nrock\t{n}\nscissors\t{n}\n"
    rows = json.loads(run_cli("classes", "rps", "--json", captures=caps).stdout)
    assert [(r["label"], r["images"], r["enabled"]) for r in rows] == [
        ("paper", n, True), ("rock", n, True), ("scissors", n, True)]


def test_class_commands_and_samples(tmp_path):
    caps = tmp_path / "caps"
    run_cli("new", "P", "--classes", "a", "b", "c", captures=caps)
    run_cli("rename-class", "P", "a", "에이", captures=caps)
    run_cli("reorder", "P", "c", "에이", "b", captures=caps)
    run_cli("disable", "P", "b", captures=caps)
    run_cli("add", "P", "c", *fixture_images("rps", "rock", 2), captures=caps)
    assert run_cli("classes", "P", captures=caps).stdout == "c\t2\n에이\t0\nb\t0\tdisabled\n"
    samples = json.loads(run_cli("samples", "P", "c", "--json", captures=caps).stdout)
    assert len(samples) == 2
    run_cli("remove", "P", "c", samples[0]["name"], captures=caps)
    run_cli("delete-class", "P", "b", "--yes", captures=caps)
    assert run_cli("classes", "P", captures=caps).stdout == "c\t1\n에이\t0\n"
    run_cli("rename", "P", "Q", captures=caps)
    run_cli("delete", "Q", "--yes", captures=caps)
    assert "no projects yet" in run_cli("projects", captures=caps).stdout


# ---- train, predict, evaluate, export, save ------------------------------------------------------
def test_train_reports_accuracy_per_class_and_confusion(trained):
    out = trained["train"]
    lines = out.stdout.splitlines()
    # a new photo project: pretrained features and the head that suits them
    assert lines[0].startswith("Trained logistic on 24 images") and "test accuracy" in lines[0]
    for line, label in zip(lines[1:4], ("paper", "rock", "scissors")):
        assert re.fullmatch(rf"  {label}\t\d/9", line)  # 9 images per class, each held back in turn
    assert lines[0].endswith("on 27 held-back images (each held back in turn, in 5 trainings)")
    assert "true \\ predicted" in out.stdout
    assert "100% Training" in out.stderr and "Traceback" not in out.stderr


def test_train_json_with_options(trained):
    caps = trained["captures"]
    out = run_cli("train", "rps", "--model", "knn", "--features", "pixels", "--size", "20", "--grey",
                  "--no-augment", "--json", "--quiet", captures=caps)
    summary = json.loads(out.stdout)
    assert summary["model"] == "knn" and summary["features"]["kind"] == "pixels"
    assert summary["features"]["size"] == 20 and summary["features"]["color"] is False
    assert summary["n_train"] + summary["n_test"] == 27 and 0 <= summary["accuracy"] <= 1
    assert out.stderr == ""
    settings = json.loads((caps / "rps" / "project.json").read_text(encoding="utf-8"))["settings"]
    assert (settings["model"], settings["color"], settings["augment"]) == ("knn", False, False)  # remembered
    back = run_cli("train", "rps", "--json", "-q", "--model", "svc", "--features", "hog", "--size", "64", "--colour",
                   "--augment", captures=caps)
    assert json.loads(back.stdout)["features"] == {"kind": "hog", "size": 64, "cell": 16, "bins": 9, "color": True,
                                                   "framing": "crop"}
    settings = json.loads((caps / "rps" / "project.json").read_text(encoding="utf-8"))["settings"]
    assert (settings["model"], settings["color"], settings["augment"]) == ("svc", True, True)


def test_predict_lines_and_json(trained):
    caps, images = trained["captures"], held_images(trained)
    lines = run_cli("predict", "rps", *images, captures=caps).stdout.splitlines()
    assert len(lines) == len(images)
    right = 0
    for line, image in zip(lines, images):
        path, label, confidence = line.split("\t")
        assert path == image and label in ("paper", "rock", "scissors")
        assert len(confidence) == 6 and 0 < float(confidence) <= 1
        right += label == image.split("/")[-2]
    assert right >= 7  # of 9 held-back images
    rows = json.loads(run_cli("predict", "rps", *images[:2], "--json", captures=caps).stdout)
    assert [r["path"] for r in rows] == images[:2]  # as the exported scripts' --json names it
    for row, line in zip(rows, lines):
        assert list(row["confidences"]) == ["paper", "rock", "scissors"]
        assert row["label"] == line.split("\t")[1] and f"{row['confidence']:.4f}" == line.split("\t")[2]
        assert sum(row["confidences"].values()) == pytest.approx(1.0, abs=1e-6)


def test_evaluate_on_a_labelled_folder(trained):
    caps, held = trained["captures"], trained["held"]
    (held / "lizard").mkdir(exist_ok=True)  # not a class: ignored and said so
    out = run_cli("evaluate", "rps", held, captures=caps)
    text = out.stdout
    assert text.startswith("Accuracy ") and "on 9 images" in text.splitlines()[0] and out.stderr == ""
    assert "true \\ predicted" in text and "precision" in text
    assert "Ignored folders that are not classes: lizard" in text
    m = json.loads(run_cli("evaluate", "rps", held, "--json", captures=caps).stdout)
    assert m["n"] == 9 and set(m["per_class"]) == {"paper", "rock", "scissors"}
    assert [sum(row) for row in m["confusion"]] == [3, 3, 3]
    assert m["accuracy"] >= 0.75 and m["ignored_folders"] == ["lizard"]
    predicted = [ln.split("\t")[1] for ln in
                 run_cli("predict", "rps", *held_images(trained), captures=caps).stdout.splitlines()]
    truth = [p.split("/")[-2] for p in held_images(trained)]
    assert m["accuracy"] == pytest.approx(sum(a == b for a, b in zip(predicted, truth)) / 9)


def test_evaluate_warns_about_images_training_saw(trained, tmp_path):
    """A training image under another name and format still counts as seen."""
    caps = trained["captures"]
    mixed = tmp_path / "mixed"
    (mixed / "rock").mkdir(parents=True)
    seen = sorted((trained["tmp"] / "train" / "rock").iterdir())[0]
    Image.open(seen).save(mixed / "rock" / "renamed.png")
    shutil.copy(sorted((trained["held"] / "rock").iterdir())[0], mixed / "rock" / "new.jpg")
    out = run_cli("evaluate", "rps", mixed, captures=caps)
    assert out.returncode == 0 and "1 image of the 2" in out.stderr and "renamed.png" in out.stderr
    assert "flatters" in out.stderr and out.stdout.startswith("Accuracy ")


def test_export_out(trained):
    caps, out = trained["captures"], trained["tmp"] / "exports"
    proc = run_cli("export", "rps", "--out", out, captures=caps)
    folder = next(p for p in out.iterdir() if p.is_dir())
    assert proc.stdout.splitlines() == [f"Exported to {folder}", f"Zip: {folder}.zip"]
    assert proc.stderr == ""  # no library deprecation noise either
    assert {"model.joblib", "metadata.json", "labels.txt", "predict.py"} <= {f.name for f in folder.iterdir()}
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert list(meta["files"])[:3] == ["joblib", "skops", "onnx"]  # the formats the page ticks by default
    assert (folder / "labels.txt").read_text() == "paper\nrock\nscissors\n"
    with zipfile.ZipFile(f"{folder}.zip") as z:
        assert f"{folder.name}/model.joblib" in z.namelist()
    # an export predicts like its project (studio opens the safe model.skops, never unpickling)
    images = held_images(trained)[:3]
    from_export = run_cli("predict", folder, *images, captures=caps).stdout
    assert from_export == run_cli("predict", "rps", *images, captures=caps).stdout


def test_save_tm_and_import_it_back(trained):
    caps, tmp = trained["captures"], trained["tmp"]
    tm = tmp / "saved" / "rps.tm"
    assert run_cli("save", "rps", tm, captures=caps).stdout.strip() == f"Saved {tm}"
    with zipfile.ZipFile(tm) as z:
        assert json.loads(z.read("manifest.json"))["type"] == "image"
        assert "rock-!-0.jpg" in z.namelist()
    refused = run_cli("save", "rps", tm, captures=caps, check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    run_cli("save", "rps", tm, "--force", captures=caps)
    run_cli("import", "rps again", tm, captures=caps)
    assert run_cli("classes", "rps again", captures=caps).stdout == run_cli("classes", "rps", captures=caps).stdout
    zipped = tmp / "saved" / "rps.zip"
    run_cli("save", "rps", zipped, captures=caps)
    run_cli("import", "rps zipped", zipped, captures=caps)
    assert run_cli("classes", "rps zipped", captures=caps).stdout == run_cli("classes", "rps", captures=caps).stdout


def test_import_a_teachable_machine_file(tmp_path):
    caps = tmp_path / "caps"
    tm = make_tm(tmp_path / "masks.tm", {"마스크": fixture_images("face_mask", "with_mask", 3),
                                         "맨얼굴": fixture_images("face_mask", "without_mask", 2)},
                 extra={"weights.bin": b"\x00"})
    out = run_cli("import", "Masks", tm, captures=caps)
    assert out.stdout.strip() == ("Imported 5 image(s) into 2 class(es); 마스크: 3; 맨얼굴: 2. "
                                  "Skipped 1 file(s): 1 not an image (weights.bin).")
    assert run_cli("classes", "Masks", captures=caps).stdout == "마스크\t3\n맨얼굴\t2\n"


def test_the_console_script_and_the_environment_variable(tmp_path):
    studio = ROOT / ".venv" / "bin" / "studio"
    if not studio.exists():
        pytest.skip("the 'studio' console script is installed by 'make' into .venv")
    env = clean_env(STUDIO_CAPTURES=str(tmp_path / "from-env"))
    made = subprocess.run([str(studio), "new", "Env"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "from-env").is_dir()
    listed = subprocess.run([str(studio), "projects"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert listed.stdout.startswith("Env\tphoto")
    version = subprocess.run([str(studio), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.startswith("studio ")


# ---- user mistakes: one line on stderr, exit status 1, never a traceback -------------------------------
MISTAKES = [
    ("unknown project", ["classes", "nope"], "No project named 'nope'"),
    ("duplicate project", ["new", "RPS"], "already exists"),
    ("duplicate class", ["add-class", "rps", "ROCK"], "already exists"),
    ("empty class name", ["add-class", "rps", " "], "empty"),
    ("missing source", ["import", "x", "/no/such/folder"], "does not exist"),
    ("not an archive", ["import", "x", "{tmp}/notes.txt"], "not a folder, a .zip or a .tm"),
    ("no model", ["predict", "untrained", "{img}"], "no trained model"),
    ("bad image", ["predict", "rps", "{tmp}/notes.txt"], "notes.txt"),
    ("too few classes", ["train", "untrained"], "enabled class"),
    ("too few images", ["train", "one image"], "has 1 image, but training needs at least 2"),
    ("bad size", ["train", "rps", "--size", "60"], "multiple of the cell"),
    ("contradicting flags", ["train", "rps", "--grey", "--colour"], "not both"),
    ("bad model choice", ["train", "rps", "--model", "resnet"], "invalid choice"),
    ("bad number", ["train", "rps", "--epochs", "many"], "invalid int value"),
    ("missing argument", ["new"], "required"),
    ("unknown command", ["fly"], "invalid choice"),
    ("evaluate a file", ["evaluate", "rps", "{img}"], "is not a folder"),
    ("evaluate no classes", ["evaluate", "rps", "{tmp}"], "No images in"),
    ("export unknown", ["export", "nope"], "No project named"),
    ("unknown format", ["export", "rps", "--format", "tflite", "--out", "{tmp}/x"], "Unknown export format"),
    ("out is a file", ["export", "rps", "--format", "joblib", "--out", "{tmp}/notes.txt"], "notes.txt"),
    ("delete unconfirmed", ["delete", "rps"], "--yes"),
    ("rename taken", ["rename", "untrained", "rps"], "already exists"),
    ("remove unknown sample", ["remove", "rps", "rock", "nope.png"], "has no sample 'nope.png'"),
    ("remove outside the class", ["remove", "rps", "rock", "../project.json"], "not a sample name"),
    ("unknown class", ["disable", "rps", "lizard"], "no class 'lizard'"),
]


@pytest.mark.parametrize("args", [m[1] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_user_mistake_is_one_line_and_exit_1(trained, args):
    caps, tmp = trained["captures"], trained["tmp"]
    says = dict((tuple(m[1]), m[2]) for m in MISTAKES)[tuple(args)]
    (tmp / "notes.txt").write_text("not an image")
    if not (caps / "untrained").exists():
        run_cli("new", "untrained", "--classes", "only one", captures=caps)
        run_cli("new", "one image", "--classes", "a", "b", captures=caps)
        run_cli("add", "one image", "a", fixture_images("rps", "rock", 1)[0], captures=caps)
        run_cli("add", "one image", "b", *fixture_images("rps", "paper", 2), captures=caps)
    filled = [a.format(tmp=tmp, img=fixture_images("rps", "rock", 1)[0]) for a in args]
    proc = run_cli(*filled, captures=caps, check=False)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and says in proc.stderr


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_closed_pipe_is_not_a_traceback(trained, unbuffered):
    """'studio predict ... | head -1' (here: a reader that has already gone) ends quietly."""
    caps, images = trained["captures"], held_images(trained)
    env = clean_env()
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    cmd = f"'{sys.executable}' -m studio --captures '{caps}' predict rps {' '.join(map(repr, images))} | true"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.stderr == "" and proc.returncode == 1
