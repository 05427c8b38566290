"""Import from class folders, zips and Teachable Machine .tm files; save as .tm and as zip."""

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
from conftest import FIXTURES
from helpers import fixture_classes, fixture_images, make_project, make_tm, png_bytes
from PIL import Image

from studio.errors import StudioError
from studio.samples.transfer import import_into, save_tm, save_zip


def counts(project):
    return [(c.label, c.count) for c in project.classes()]


def folder_of_classes(tmp_path, set_name="rps", n=4):
    root = tmp_path / f"{set_name}_set"
    for label in fixture_classes(set_name):
        (root / label).mkdir(parents=True)
        for f in fixture_images(set_name, label, n):
            shutil.copy(f, root / label / f.name)
    return root


def zip_of(tmp_path, name, entries: dict[str, bytes]):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        for arc, data in entries.items():
            z.writestr(arc, data)
    return path


# ---- folders ---------------------------------------------------------------------------------
def test_import_folder_of_class_folders(store):
    report = import_into(store, "rps", FIXTURES / "rps")
    p = store.project("rps")
    assert counts(p) == [("paper", 12), ("rock", 12), ("scissors", 12)]
    assert report.added == {"paper": 12, "rock": 12, "scissors": 12} and report.skipped == []
    assert "Imported 36 image(s) into 3 class(es)" in report.summary()
    assert len(list((FIXTURES / "rps" / "rock").iterdir())) == 12  # the source is untouched


def test_import_skips_and_counts_what_is_not_an_image(store, tmp_path):
    root = folder_of_classes(tmp_path, n=2)
    (root / "README.md").write_text("about this set")
    (root / "rock" / "notes.txt").write_text("not an image")
    (root / "rock" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "paper" / ".DS_Store").write_bytes(b"\x00")
    (root / "paper" / "nested").mkdir()
    shutil.copy(fixture_images("rps", "paper")[-1], root / "paper" / "nested" / "deep.jpg")
    report = import_into(store, "rps", root)
    assert counts(store.project("rps")) == [("paper", 3), ("rock", 2), ("scissors", 2)]
    reasons = sorted(why for _, why in report.skipped)
    assert reasons == ["not a readable image", "not an image", "not in a class folder"]
    summary = report.summary()
    assert "Skipped 3 file(s)" in summary and "1 not an image" in summary and "1 not a readable image" in summary


def test_import_into_an_existing_project_adds_to_its_classes(store, tmp_path):
    p = store.create("Hands", classes=["Rock", "lizard"])
    import_into(store, "hands", folder_of_classes(tmp_path, n=2))
    assert counts(p) == [("Rock", 2), ("lizard", 0), ("paper", 2), ("scissors", 2)]


def test_import_refusals(store, tmp_path):
    with pytest.raises(StudioError, match="does not exist"):
        import_into(store, "x", tmp_path / "missing")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    (tmp_path / "empty" / "cls" / "a.txt").write_text("no images here")
    with pytest.raises(StudioError, match="No images found.*1 not an image"):
        import_into(store, "x", tmp_path / "empty")
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(StudioError, match="not a folder, a .zip or a .tm"):
        import_into(store, "y", tmp_path / "plain.txt")
    (tmp_path / "fake.zip").write_bytes(b"PK not really")
    with pytest.raises(StudioError):
        import_into(store, "z", tmp_path / "fake.zip")


# ---- zips ------------------------------------------------------------------------------------
def test_import_zip_keeps_the_order_of_first_appearance(store, tmp_path):
    jpg = {lb: fixture_images("rps", lb)[0].read_bytes() for lb in ("rock", "paper", "scissors")}
    path = zip_of(tmp_path, "set.zip", {
        "scissors/1.jpg": jpg["scissors"], "rock/1.jpg": jpg["rock"], "scissors/2.jpg": jpg["scissors"],
        "paper/1.jpg": jpg["paper"], "readme.txt": b"hi",
    })
    report = import_into(store, "z", path)
    assert counts(store.project("z")) == [("scissors", 2), ("rock", 1), ("paper", 1)]
    assert report.skipped == [("readme.txt", "not an image")]


def test_import_zip_with_a_wrapper_folder(store, tmp_path):
    jpg = fixture_images("rps", "rock")[0].read_bytes()
    path = zip_of(tmp_path, "wrapped.zip", {
        "my set/rock/a.jpg": jpg, "my set/rock/b.jpg": jpg, "my set/paper/a.jpg": jpg, "my set/LICENSE.txt": b"MIT",
        # what macOS's "Compress" adds
        "__MACOSX/my set/rock/._a.jpg": b"\x00\x05\x16\x07", "my set/.DS_Store": b"\x00",
    })
    report = import_into(store, "w", path)
    assert counts(store.project("w")) == [("rock", 2), ("paper", 1)]
    assert sorted(why for _, why in report.skipped) == ["hidden file", "hidden file", "not an image"]


def test_import_zip_never_writes_outside_the_project(store, tmp_path):
    jpg = fixture_images("rps", "rock")[0].read_bytes()
    path = zip_of(tmp_path, "evil.zip", {"../../evil/x.jpg": jpg, "/abs/y.jpg": jpg, "ok/z.jpg": jpg, "ok/w.jpg": jpg})
    report = import_into(store, "e", path)
    assert counts(store.project("e")) == [("ok", 2)]
    assert ("unsafe path" in {why for _, why in report.skipped})
    assert not (tmp_path / "evil").exists() and not (store.root.parent / "evil").exists()


# ---- Teachable Machine .tm ---------------------------------------------------------------------
def tm_classes():
    """Unicode labels, in an order that is not alphabetical."""
    return {
        "마스크": fixture_images("face_mask", "with_mask", 5),
        "맨얼굴 😀": fixture_images("face_mask", "without_mask", 3),
        "Ärger": fixture_images("rps", "rock", 2),
    }


def test_import_tm_with_unicode_labels(store, tmp_path):
    tm = make_tm(tmp_path / "project.tm", tm_classes(),
                 appdata={"trainEpochs": 30, "trainBatchSize": 32, "trainLearningRate": 0.0005},
                 extra={"notes.txt": b"not a sample", "weights.bin": b"\x00" * 16})
    report = import_into(store, "Masks", tm)
    p = store.project("Masks")
    assert counts(p) == [("마스크", 5), ("맨얼굴 😀", 3), ("Ärger", 2)]
    assert report.added == {"마스크": 5, "맨얼굴 😀": 3, "Ärger": 2}
    assert sorted(why for _, why in report.skipped) == ["not an image", "not an image"]
    assert p.settings() == {"epochs": 30, "batch_size": 32, "learning_rate": 0.0005}
    for s in p.samples():
        assert Image.open(s.path).size == (224, 224)


def test_import_tm_orders_samples_by_index(store, tmp_path):
    imgs = [np.full((224, 224, 3), v, np.uint8) for v in (10, 120, 240)]
    path = zip_of(tmp_path, "ordered.tm", {
        "manifest.json": json.dumps({"type": "image", "appdata": {}}).encode(),
        "b-!-0.jpg": png_bytes(Image.fromarray(imgs[0]), "JPEG"),
        "a-!-10.jpg": png_bytes(Image.fromarray(imgs[2]), "JPEG"),
        "a-!-2.jpg": png_bytes(Image.fromarray(imgs[1]), "JPEG"),
        "a-!-0.jpg": png_bytes(Image.fromarray(imgs[0]), "JPEG"),
    })
    import_into(store, "o", path)
    p = store.project("o")
    assert p.labels() == ["b", "a"]  # first appearance, not alphabetical
    oldest_first = [int(np.asarray(Image.open(s.path))[0, 0, 0]) for s in reversed(p.samples("a"))]
    assert [round(v / 10) for v in oldest_first] == [1, 12, 24]
    assert p.settings() == {"epochs": 50, "batch_size": 16, "learning_rate": 0.001}  # TM's defaults


@pytest.mark.parametrize("manifest, says", [
    (None, "no manifest.json"),
    (b"{broken", "broken"),
    (json.dumps({"type": "pose"}).encode(), "'pose' project"),
])
def test_import_tm_refusals(store, tmp_path, manifest, says):
    entries = {"a-!-0.jpg": fixture_images("rps", "rock")[0].read_bytes()}
    if manifest is not None:
        entries["manifest.json"] = manifest
    with pytest.raises(StudioError, match=says):
        import_into(store, "t", zip_of(tmp_path, "x.tm", entries))


def test_save_tm_is_what_teachable_machine_reads(store, tmp_path):
    p = make_project(store, "Hands", "rps", classes=["scissors", "rock", "paper"], n=3)
    p.rename_class("rock", "바위")
    p.set_settings({"epochs": 20, "batch_size": 8, "learning_rate": 0.01, "model": "svc"})
    out = save_tm(p, tmp_path / "out" / "hands.tm")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
        first = Image.open(io.BytesIO(z.read("바위-!-0.jpg")))
    assert manifest["type"] == "image"
    assert manifest["appdata"] == {"trainEpochs": 20, "trainBatchSize": 8, "trainLearningRate": 0.01}
    assert sorted(names) == sorted(["manifest.json"] + [f"{lb}-!-{i}.jpg" for lb in ("scissors", "바위", "paper")
                                                        for i in range(3)])
    assert first.format == "JPEG" and first.size == (224, 224)


def test_save_tm_then_import_round_trip(store, tmp_path):
    p = make_project(store, "Hands", "rps", classes=["scissors", "rock", "paper"], n=3)
    p.rename_class("scissors", "가위 ✌")
    p.add_sample("paper", fixture_images("rps", "paper")[5])
    p.set_settings({"epochs": 12, "batch_size": 4, "learning_rate": 0.002})
    tm = save_tm(p, tmp_path / "hands.tm")
    import_into(store, "Again", tm)
    q = store.project("Again")
    assert counts(q) == counts(p) == [("가위 ✌", 3), ("rock", 3), ("paper", 4)]
    assert q.settings() == {"epochs": 12, "batch_size": 4, "learning_rate": 0.002}
    # the same images in the same order (JPEG at 224 px, so nearly the same pixels)
    for label in q.labels():
        for a, b in zip(p.samples(label), q.samples(label)):
            small = np.asarray(Image.open(a.path).convert("RGB").resize((224, 224))).astype(int)
            assert np.abs(small - np.asarray(Image.open(b.path)).astype(int)).mean() < 25


def test_save_zip_then_import_round_trip(store, tmp_path):
    p = make_project(store, "Hands", "rps", classes=["scissors", "rock", "paper"], n=2)
    p.rename_class("rock", "Class 1")  # a label whose folder name differs (Class_1)
    p.add_class("a/b")  # a label that cannot be a folder name
    p.add_sample("a/b", fixture_images("rps", "rock")[3])
    out = save_zip(p, tmp_path / "hands.zip")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    assert all(n.endswith(".png") and n.count("/") == 1 for n in names) and len(names) == 7
    assert {n.split("/")[0] for n in names} == {"scissors", "Class 1", "paper", "a_b"}
    import_into(store, "From zip", out)
    assert counts(store.project("From zip")) == [("scissors", 2), ("Class 1", 2), ("paper", 2), ("a_b", 1)]
