"""Pose projects in process: landmark features (what they ignore, what they keep, the mirror copy),
stored poses (frame and landmarks in one PNG), clear messages for what is not a pose, and the whole
loop from landmark JSON through the CLI to predictions, with the JavaScript kernel agreeing."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pose_figures import POSES, figure, jitter

from studio.errors import BadPose, TooLarge
from studio.features import pose_kernel
from studio.features.pose import KERNEL_JS, TEMPLATES, LandmarksSpec
from studio.kinds import KINDS, kinds_of
from studio.model.predictor import Predictor
from studio.model.training import train
from studio.samples import poses, transfer
from studio.samples.store import Store

SPEC = LandmarksSpec()


def vec(pose: dict, variant: str = "plain") -> np.ndarray:
    return SPEC.vector(poses.load(pose), variant)


def test_features_ignore_where_the_body_stands_and_how_large_it_is():
    here = vec(figure(left_arm=120, centre=(0.3, 0.5), torso=0.2))
    there = vec(figure(left_arm=120, centre=(0.7, 0.6), torso=0.35))
    wide = vec(figure(left_arm=120, centre=(0.5, 0.5), torso=0.2, width=1280, height=480))
    np.testing.assert_allclose(here, there, atol=1e-4)
    np.testing.assert_allclose(here, wide, atol=1e-4)  # x and y on one scale whatever the frame's shape
    assert here.dtype == np.float32 and here.shape == (SPEC.vector_length,)


def test_features_tell_poses_apart():
    vectors = {name: vec(figure(**angles)) for name, angles in POSES.items()}
    for a in vectors:
        for b in vectors:
            if a != b:
                assert np.abs(vectors[a] - vectors[b]).max() > 0.5, (a, b)


def test_the_mirror_copy_swaps_left_and_right():
    left = figure(left_arm=170)
    right = figure(right_arm=170)
    np.testing.assert_allclose(vec(left, "mirror"), vec(right), atol=1e-4)
    lm = np.asarray(left["landmarks"])
    np.testing.assert_allclose(pose_kernel.mirrored(pose_kernel.mirrored(lm)), lm)


def test_an_unseen_point_counts_for_nothing_wherever_it_was_guessed():
    a, b = figure(), figure()
    for pose, x in ((a, 0.1), (b, 0.9)):
        pose["landmarks"][15][0] = x
        pose["landmarks"][15][3] = 0.0
    np.testing.assert_allclose(vec(a), vec(b), atol=1e-6)


def test_a_stored_pose_keeps_its_frame_and_landmarks_in_one_png():
    frame = Image.new("RGB", (640, 480), (10, 120, 200))
    buf = io.BytesIO()
    frame.save(buf, format="JPEG")
    pose = figure(left_arm=90)
    data, suffix = KINDS["pose"].stored({**pose, "frame": buf.getvalue()})
    assert suffix == ".png"
    back = poses.load(data)
    assert back.frame.size == (640, 480) and (back.width, back.height) == (640, 480)
    np.testing.assert_allclose(back.landmarks, np.asarray(pose["landmarks"]), atol=1e-6)
    np.testing.assert_allclose(SPEC.vector(back), vec(pose), atol=1e-5)
    drawn = poses.load(KINDS["pose"].stored(pose)[0])  # no frame: stored on a drawing of the skeleton
    assert max(drawn.frame.size) == poses.DRAWN_SIDE and len(drawn.frame.getcolors(1 << 16)) > 1


@pytest.mark.parametrize(("source", "says"), [
    ({"landmarks": [[0.5, 0.5, 0, 1]] * 32}, "33 rows"),
    ({"landmarks": [[0.5, float("nan"), 0, 1]] * 33}, "finite"),
    ({"points": []}, 'no "landmarks"'),
    ({"landmarks": [[0.5, 0.5, 0, 1]] * 33}, "no torso"),
    ({**figure(), "frame": "data:image/png;base64,!!"}, "base64"),
])
def test_what_is_not_a_pose_is_refused_with_what_is_wrong(source, says):
    with pytest.raises(BadPose, match=says):
        KINDS["pose"].stored(source, "pose.json")


def test_a_photo_without_landmarks_says_photos_go_through_the_pose_page():
    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, format="PNG")
    with pytest.raises(BadPose, match="pose page"):
        poses.load(buf.getvalue(), "me.png")


def test_json_files_make_a_pose_project():
    assert kinds_of(["a/1.json", "b/2.json"]) == {KINDS["pose"]: "a/1.json"}


def write_poses(folder, per_class: int = 8, seed: int = 0) -> dict[str, list]:
    """Class folders of landmark JSON files (jittered figures): {class: [path, ...]}."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in ("down", "up", "T"):
        (folder / name).mkdir(parents=True)
        out[name] = []
        for i in range(per_class):
            path = folder / name / f"{i}.json"
            path.write_text(json.dumps(jitter(figure(**POSES[name], centre=(rng.uniform(.3, .7), .55)), rng)))
            out[name].append(path)
    return out


def studio_cli(*args, captures) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", "--captures", str(captures), *args],
                          capture_output=True, text=True, timeout=300)


def test_the_cli_imports_trains_and_predicts_landmark_json(tmp_path):
    write_poses(tmp_path / "src")
    captures = tmp_path / "captures"
    out = studio_cli("import", "Yoga", str(tmp_path / "src"), captures=captures)
    assert out.returncode == 0 and "Imported 24 pose(s) into 3 class(es)" in out.stdout, out.stderr
    assert Store(captures).project("Yoga").kind.name == "pose"
    out = studio_cli("train", "Yoga", captures=captures)
    assert out.returncode == 0 and "held-back poses" in out.stdout, out.stderr
    test = tmp_path / "test"
    write_poses(test, per_class=3, seed=7)
    files = sorted(str(p) for p in test.glob("*/*.json"))
    out = studio_cli("predict", "Yoga", *files, captures=captures)
    assert out.returncode == 0, out.stderr
    got = [line.split("\t")[1] for line in out.stdout.splitlines()]
    assert len(got) == len(files) and sum(g == f.split("/")[-2] for g, f in zip(got, files)) >= len(files) - 1
    photo = tmp_path / "me.jpg"
    Image.new("RGB", (64, 64)).save(photo)
    out = studio_cli("predict", "Yoga", str(photo), captures=captures)
    assert out.returncode != 0 and "pose page" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = studio_cli("add", "Yoga", "up", str(photo), captures=captures)
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.strip() == ("studio: error: No pose was added to 'up': me.jpg is a picture without pose "
                                  "landmarks (photos go through the pose page, which finds the pose in them). "
                                  "Give pose files, or zips of them.")


@pytest.mark.parametrize("as_zip", [True, False])
def test_a_saved_pose_project_opens_again_as_a_pose_project(tmp_path, as_zip):
    """Stored poses are PNGs, as photos are: their landmark chunk, not their names, tells the kind."""
    store = Store(tmp_path / "captures")
    write_poses(tmp_path / "src", per_class=2)
    transfer.import_into(store, "Yoga", tmp_path / "src")
    saved = transfer.save_zip(store.project("Yoga"), tmp_path / "Yoga.zip")
    if not as_zip:
        shutil.unpack_archive(saved, tmp_path / "unpacked")
    opened = transfer.import_into(store, "Again", saved if as_zip else tmp_path / "unpacked")
    again = store.project("Again")
    assert again.kind.name == "pose" and sum(opened.added.values()) == 6
    assert {c.label: c.count for c in again.classes()} == {"down": 2, "up": 2, "T": 2}
    photos = tmp_path / "photos" / "cat"
    photos.mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(photos / "1.png")  # a plain PNG stays a photo
    transfer.import_into(store, "Pets", tmp_path / "photos")
    assert store.project("Pets").kind.name == "photo"


def test_training_copies_are_mirrored_poses(tmp_path):
    project = Store(tmp_path).create("P", "pose", classes=["left up", "down"])
    rng = np.random.default_rng(1)
    for label in project.labels():
        for _ in range(6):
            project.add_sample(label, jitter(figure(**POSES[label]), rng))
    record = train(project)
    predictor = Predictor.from_record(record)
    # trained on the left arm only: the mirror copies teach it the right arm too
    assert predictor.top(figure(right_arm=170))[0] == "left up"
    assert predictor.top(figure())[0] == "down"


def test_the_javascript_kernel_computes_what_python_computes(tmp_path):
    if not shutil.which("node"):
        pytest.skip("node is not installed (make test installs it)")
    rng = np.random.default_rng(3)
    cases = [jitter(figure(**angles, lean=lean), rng) for angles in POSES.values() for lean in (0, 40, 95)]
    cases.append({"landmarks": [row[:3] for row in figure()["landmarks"]]})  # no visibility, no frame size
    shutil.copy(TEMPLATES / KERNEL_JS, tmp_path / KERNEL_JS)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = ("import { readPose, extractPose, mirrored } from './pose_kernel.mjs';\n"
              "import { readFileSync } from 'node:fs';\n"
              "const spec = JSON.parse(process.argv[2]);\n"
              "const out = JSON.parse(readFileSync('cases.json', 'utf8')).map((c) => { const p = readPose(c);\n"
              "  return [Array.from(extractPose(p, spec)),\n"
              "          Array.from(extractPose({ ...p, landmarks: mirrored(p.landmarks) }, spec))]; });\n"
              "console.log(JSON.stringify(out));\n")
    (tmp_path / "run.mjs").write_text(script)
    out = subprocess.run(["node", "run.mjs", json.dumps(SPEC.to_json())], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for case, (plain, mirror) in zip(cases, json.loads(out.stdout)):
        np.testing.assert_allclose(np.float32(plain), vec(case), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.float32(mirror), vec(case, "mirror"), rtol=1e-6, atol=1e-7)


def test_a_pose_png_too_large_to_decode_safely_is_refused(tmp_path):
    big = tmp_path / "big.png"
    Image.new("L", (7000, 7000)).save(big)  # 49 million pixels, a few kB on disk
    with pytest.raises(TooLarge):
        poses.load(big)
    with pytest.raises(TooLarge):
        poses.load(big.read_bytes(), "big.png")
