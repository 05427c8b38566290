"""The project store on disk: projects, classes, samples; safe names; atomic writes."""

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import fixture_images
from PIL import Image

from studio.errors import BadImage, Conflict, InvalidName, NotFound, StudioError
from studio.samples import atomic
from studio.samples.store import SCHEMA, Store, default_root


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


# ---- projects -------------------------------------------------------------------------------
def test_create_writes_project_json(store):
    p = store.create("Hands", "photo", classes=["rock", "paper"])
    meta = json.loads((p.path / "project.json").read_text(encoding="utf-8"))
    assert meta["schema"] == SCHEMA and meta["name"] == "Hands" and meta["kind"] == "photo"
    assert [(c["label"], c["folder"], c["enabled"]) for c in meta["classes"]] == [
        ("rock", "rock", True), ("paper", "paper", True)]
    assert isinstance(meta["settings"], dict)
    assert (p.path / "rock").is_dir() and (p.path / "paper").is_dir()


def test_create_defaults_to_two_classes(store):
    assert store.create("Default").labels() == ["Class 1", "Class 2"]


def test_list_rename_delete_projects(store):
    assert store.projects() == []
    store.create("beta")
    store.create("Alpha", "sketch")
    assert store.names() == ["Alpha", "beta"]
    assert store.project("alpha").kind.name == "sketch"  # found case-insensitively
    folder = store.project("beta").path
    store.rename("beta", "Gamma 감마")
    assert store.names() == ["Alpha", "Gamma 감마"]
    assert store.project("Gamma 감마").path == folder  # nothing moved on disk
    store.delete("Alpha")
    assert store.names() == ["Gamma 감마"]
    assert sorted(p.name for p in store.root.iterdir() if not p.name.startswith(".")) == [folder.name]


def test_project_refusals(store):
    store.create("Hands")
    with pytest.raises(Conflict, match="already exists"):
        store.create("HANDS")
    store.create("Other")
    with pytest.raises(Conflict, match="already exists"):
        store.rename("Other", "hands")
    with pytest.raises(NotFound, match="No project named 'nope'.*'Hands'"):
        store.project("nope")
    with pytest.raises(InvalidName):
        store.create("  ")
    with pytest.raises(StudioError, match="kind"):
        store.create("Audio", "audio")
    with pytest.raises(Conflict):
        store.create("Dup classes", classes=["cat", "Cat"])
    assert store.names() == ["Hands", "Other"]


def test_project_names_with_slashes_stay_inside_the_store(store):
    p = store.create("../../escape")
    q = store.create("a/b")
    r = store.create("a_b")
    for proj in (p, q, r):
        assert proj.path.parent == store.root
    assert len({p.folder, q.folder, r.folder}) == 3
    assert store.project("a/b").name == "a/b" and store.project("a_b").name == "a_b"


def test_a_new_store_object_sees_everything(store):
    p = store.create("Persist", classes=["마스크", "no mask"])
    p.add_sample("마스크", np.zeros((8, 8, 3), np.uint8))
    p.set_enabled("no mask", False)
    again = Store(store.root).project("Persist")
    assert [(c.label, c.enabled, c.count) for c in again.classes()] == [("마스크", True, 1), ("no mask", False, 0)]


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_CAPTURES", str(tmp_path / "elsewhere"))
    assert default_root() == tmp_path / "elsewhere"
    assert Store().root == tmp_path / "elsewhere"
    monkeypatch.delenv("STUDIO_CAPTURES")
    assert default_root() == Path("captures")


# ---- classes --------------------------------------------------------------------------------
def test_class_operations(store):
    p = store.create("Masks", classes=[])
    p.add_class("마스크")
    p.add_class("no mask")
    p.add_class("unsure")
    assert p.labels() == ["마스크", "no mask", "unsure"]
    assert p.class_info("마스크").folder == "마스크"
    p.rename_class("no mask", "맨얼굴")
    p.reorder(["unsure", "마스크", "맨얼굴"])
    p.set_enabled("unsure", False)
    assert [(c.label, c.enabled) for c in p.classes()] == [("unsure", False), ("마스크", True), ("맨얼굴", True)]
    assert p.labels(enabled_only=True) == ["마스크", "맨얼굴"]
    p.set_enabled("UNSURE", True)  # labels are found case-insensitively
    p.move_class("unsure", +5)
    assert p.labels() == ["마스크", "맨얼굴", "unsure"]
    folder = p.path / p.class_info("unsure").folder
    p.delete_class("unsure")
    assert p.labels() == ["마스크", "맨얼굴"] and not folder.exists()


def test_duplicate_labels_are_refused_case_insensitively(store):
    p = store.create("P", classes=["Cat", "Dog"])
    with pytest.raises(Conflict, match="'Cat' already exists in project 'P'"):
        p.add_class("cat")
    with pytest.raises(Conflict):
        p.add_class("  CAT ")
    with pytest.raises(Conflict):
        p.rename_class("Dog", "cAt")
    p.rename_class("Dog", "dog")  # a class may change its own case
    assert p.labels() == ["Cat", "dog"]


def test_class_refusals(store):
    p = store.create("P", classes=["a", "b"])
    with pytest.raises(NotFound, match="no class 'c'; its classes are: 'a', 'b'"):
        p.add_sample("c", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(StudioError, match="exactly once"):
        p.reorder(["a"])
    with pytest.raises(StudioError, match="exactly once"):
        p.reorder(["a", "a"])
    with pytest.raises(InvalidName):
        p.add_class("")
    with pytest.raises(InvalidName, match="65 characters"):
        p.add_class("x" * 65)
    assert p.labels() == ["a", "b"]


def test_class_folders_are_safe_and_distinct(store):
    p = store.create("P", classes=[])
    for label in ["a/b", "a_b", "A_B-2", "..", "../../x", "model", ".cache", "with\\backslash"]:
        p.add_class(label)
    folders = [c.folder for c in p.classes()]
    assert len({f.casefold() for f in folders}) == len(folders)
    for f in folders:
        assert "/" not in f and "\\" not in f and f not in (".", "..") and not f.startswith(".")
        assert (p.path / f).is_dir() and (p.path / f).parent == p.path
    assert p.class_info("model").folder != "model"  # the model folder is not a class


# ---- samples --------------------------------------------------------------------------------
def test_add_samples_from_every_kind_of_source(store):
    p = store.create("P", classes=["x"])
    jpg = fixture_images("rps", "rock", 1)[0]
    sources = [
        np.full((30, 40, 3), (10, 200, 30), np.uint8),  # numpy RGB
        Image.new("RGB", (20, 10), (1, 2, 3)),  # PIL image
        jpg,  # a path
        str(jpg),  # a path as text
        jpg.read_bytes(),  # bytes
    ]
    added = [p.add_sample("x", s) for s in sources]
    assert len({s.name for s in added}) == 5
    for s in added:
        assert s.path.suffix == ".png" and s.path.parent == p.path / "x"
        assert Image.open(s.path).format == "PNG" and Image.open(s.path).mode == "RGB"
    assert np.asarray(Image.open(added[0].path))[0, 0].tolist() == [10, 200, 30]
    assert Image.open(added[1].path).size == (20, 10)
    assert np.array_equal(np.asarray(Image.open(added[2].path)), np.asarray(Image.open(jpg).convert("RGB")))
    assert p.counts() == {"x": 5}
    assert [s.name for s in p.samples("x")] == sorted((s.name for s in added), reverse=True)  # newest first


def test_large_images_are_stored_bounded(store):
    p = store.create("P", classes=["x"])
    s = p.add_sample("x", np.zeros((3000, 1500, 3), np.uint8))
    assert Image.open(s.path).size == (512, 1024)


def test_bad_sources_are_refused_and_nothing_is_written(store):
    p = store.create("P", classes=["x"])
    for bad in (b"not an image", "no/such/file.png", np.zeros((4, 4, 2)), 42):
        with pytest.raises(BadImage):
            p.add_sample("x", bad)
    assert p.counts() == {"x": 0} and files_under(p.path / "x") == set()


def test_list_and_delete_samples(store):
    p = store.create("P", classes=["a", "b"])
    a = [p.add_sample("a", np.full((5, 5, 3), i, np.uint8)) for i in range(3)]
    b = p.add_sample("b", np.zeros((5, 5, 3), np.uint8))
    assert p.counts() == {"a": 3, "b": 1}
    assert [s.label for s in p.samples()] == ["a", "a", "a", "b"]
    p.delete_sample("a", a[1].name)
    assert p.counts() == {"a": 2, "b": 1}
    assert {s.name for s in p.samples("a")} == {a[0].name, a[2].name}
    with pytest.raises(NotFound):
        p.delete_sample("a", a[1].name)
    with pytest.raises(NotFound):  # a sample of another class
        p.delete_sample("a", b.name)
    for sneaky in ("../project.json", "../b/" + b.name, "/etc/passwd", "project.json"):
        with pytest.raises(NotFound):
            p.delete_sample("a", sneaky)
    assert (p.path / "project.json").is_file() and b.path.is_file()


# ---- atomic writes, nothing lost ------------------------------------------------------------
def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "f.json"
    atomic.write_json(target, {"v": 1})
    with pytest.raises(TypeError):
        atomic.write_json(target, {"v": object()})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temporary file left behind
    atomic.write_new(tmp_path / "n.bin", b"1")
    with pytest.raises(FileExistsError):
        atomic.write_new(tmp_path / "n.bin", b"2")
    assert (tmp_path / "n.bin").read_bytes() == b"1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "n.bin"]


def test_sweep_removes_only_old_temporary_files(tmp_path):
    (tmp_path / "p" / "cat").mkdir(parents=True)
    old, young = tmp_path / "p" / "cat" / ".tmp-abc", tmp_path / "p" / ".tmp-def"
    keep = [tmp_path / "p" / "cat" / "1.png", tmp_path / "p" / "cat" / "tmp-not-ours.png"]
    for path in (old, young, *keep):
        path.write_bytes(b"x")
    link = tmp_path / "p" / ".tmp-link"
    link.symlink_to(keep[0])
    hour_ago = time.time() - 3600
    for path in (old, *keep):
        os.utime(path, (hour_ago, hour_ago))
    os.utime(link, (hour_ago, hour_ago), follow_symlinks=False)
    assert atomic.sweep(tmp_path) == [old]
    assert not old.exists() and young.exists() and link.is_symlink() and all(p.exists() for p in keep)


def test_project_json_survives_a_failed_edit(store):
    p = store.create("P", classes=["a"])
    before = (p.path / "project.json").read_bytes()
    with pytest.raises(RuntimeError):
        with p._editing() as meta:
            meta["classes"] = []
            raise RuntimeError("crash mid-edit")
    assert (p.path / "project.json").read_bytes() == before


def test_no_temporary_files_after_normal_use(store):
    p = store.create("P", classes=["a", "b"])
    p.add_sample("a", np.zeros((5, 5, 3), np.uint8))
    p.rename_class("b", "c")
    p.set_settings({"model": "knn"})
    leftovers = [f for f in files_under(store.root) if Path(f).name.startswith((".tmp", ".new"))]
    assert leftovers == []
    assert p.settings() == {"model": "knn"}


def test_concurrent_class_adds_are_not_lost(store):
    p = store.create("P", classes=[])
    errors = []

    def add(i):
        try:
            Store(store.root).project("P").add_class(f"class {i}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.labels()) == sorted(f"class {i}" for i in range(12))


def test_only_explicit_deletes_remove_files(store):
    p = store.create("P", classes=["a", "b"])
    for i in range(2):
        p.add_sample("a", np.full((5, 5, 3), i, np.uint8))
        p.add_sample("b", np.full((5, 5, 3), i, np.uint8))
    (p.path / "a" / "notes.txt").write_text("the user's own file")
    before = files_under(p.path)
    p.rename_class("a", "A")
    p.reorder(["b", "A"])
    p.set_enabled("b", False)
    p.set_enabled("b", True)
    store.rename("P", "Q")
    with pytest.raises(Conflict):
        p.add_class("a")
    with pytest.raises(BadImage):
        p.add_sample("A", b"junk")
    assert before <= files_under(p.path)
    p.delete_class("b")
    assert files_under(p.path) == {f for f in before if not f.startswith("b/")}
    assert (p.path / "a" / "notes.txt").is_file()
