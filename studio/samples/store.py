"""The project store on disk: one folder per project, one sub-folder per class.

The disk is the single source of truth: every call re-reads ``project.json`` and the
class folders, so the CLI, the web app and several browser sessions can share a store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import BadSample, Conflict, NotFound, StudioError
from studio.kinds import PHOTO, Kind, kind
from studio.samples import atomic
from studio.samples.names import check_name, folder_for

SCHEMA = 1
META = "project.json"
RESERVED = {"model", ".cache", ".trash"}  # project sub-folders that are not classes


def default_root() -> Path:
    return Path(os.environ.get("STUDIO_CAPTURES") or "captures")


@dataclass(frozen=True)
class ClassInfo:
    label: str
    folder: str
    enabled: bool
    count: int


@dataclass(frozen=True)
class Stray:
    """A file in a class folder, named like a sample, that studio does not read, and why."""

    label: str
    path: Path
    reason: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Sample:
    label: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def capture(self) -> str:
        """The capture this sample came from (a hold-to-record burst, an upload, a split
        recording: see ``new_capture``); a sample stored alone is its own capture."""
        parts = self.path.stem.split("-")
        return parts[2] if len(parts) == 3 and parts[2] else self.path.stem


_last_stamp = [0]
_stamp_lock = threading.Lock()


def new_stem(capture: str = "") -> str:
    """A new sample's file name without suffix, ``<time>-<random>[-<capture>]``: names sort in the
    order this process made them (the microsecond clock, never repeated), so samples stored by
    several threads keep the order they were handed over in."""
    with _stamp_lock:
        _last_stamp[0] = stamp = max(time.time_ns() // 1000, _last_stamp[0] + 1)
    return f"{stamp:016d}-{secrets.token_hex(3)}" + (f"-{capture}" if capture else "")


def new_capture() -> str:
    """A name for one capture, written into the names of all its samples (``<time>-<random>-<capture>``):
    held-back samples are chosen capture by capture, so frames of one burst are never split
    between training and testing."""
    return secrets.token_hex(4)


class Project:
    """A handle on one project folder. Holds no state besides the folder's path, and its kind
    once read (a project's kind never changes, and every webcam frame asks it)."""

    def __init__(self, store: Store, folder: str):
        self.store = store
        self.folder = folder
        self._kind: Kind | None = None

    # ---- metadata -------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.store.root / self.folder

    def meta(self) -> dict:
        try:
            return json.loads((self.path / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(f"Project folder {self.folder!r} has no {META}.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise StudioError(f"{self.path / META} is not valid JSON ({e}); restore it from a backup.") from None

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict]:
        """Read-modify-write of project.json under an exclusive lock, written atomically."""
        with _lock(self.path):
            meta = self.meta()
            yield meta
            atomic.write_json(self.path / META, meta)

    @property
    def name(self) -> str:
        return self.meta()["name"]

    @property
    def kind(self) -> Kind:
        if self._kind is None:
            self._kind = kind(self.meta().get("kind", PHOTO.name))
        return self._kind

    def settings(self) -> dict:
        return dict(self.meta().get("settings", {}))

    def set_settings(self, settings: dict) -> None:
        with self._editing() as meta:
            meta["settings"] = dict(settings)

    def classes(self) -> list[ClassInfo]:
        meta = self.meta()
        own = kind(meta.get("kind", PHOTO.name))
        return [self._info(c, own) for c in meta["classes"]]

    def _info(self, entry: dict, own: Kind | None) -> ClassInfo:
        """A class of project.json; its samples counted unless ``own`` is None (count -1)."""
        n = self._count(entry["folder"], own) if own is not None else -1
        return ClassInfo(entry["label"], entry["folder"], bool(entry.get("enabled", True)), n)

    def labels(self, enabled_only: bool = False) -> list[str]:
        return [c.label for c in self.classes() if c.enabled or not enabled_only]

    def class_info(self, label: str, count: bool = True) -> ClassInfo:
        """The class labelled ``label`` (compared case-insensitively), with its sample count
        (-1 when ``count`` is False: one read of project.json and no folder listing)."""
        meta = self.meta()
        for c in meta["classes"]:
            if c["label"] == label or c["label"].casefold() == label.casefold():
                return self._info(c, kind(meta.get("kind", PHOTO.name)) if count else None)
        raise NotFound(f"Project {meta['name']!r} has no class {label!r}; its classes are: "
                       + ", ".join(repr(c["label"]) for c in meta["classes"]))

    def class_in(self, folder: str, count: bool = True) -> ClassInfo:
        """The class stored in ``folder``, which (unlike its label) never changes: pages name
        classes by folder so that a rename in another window does not misdirect a sample."""
        meta = self.meta()
        for c in meta["classes"]:
            if c["folder"] == folder:
                return self._info(c, kind(meta.get("kind", PHOTO.name)) if count else None)
        raise NotFound("This class no longer exists (deleted in another window?).")

    # ---- classes ------------------------------------------------------------------
    def add_next_class(self) -> ClassInfo:
        """A new class named "Class N" with the smallest free N (as Teachable Machine names them);
        if another window takes that name at the same moment, the next one."""
        for _ in range(100):
            taken = {lb.casefold() for lb in self.labels()}
            n = len(taken) + 1
            while f"class {n}" in taken:
                n += 1
            try:
                return self.add_class(f"Class {n}")
            except Conflict:
                continue
        raise Conflict(f"Could not find a free class name in {self.name!r}; name the classes and try again.")

    def add_class(self, label: str) -> ClassInfo:
        label = check_name(label, "class name")
        made: list[Path] = []
        try:
            with atomic.on_disk(self.path), self._editing() as meta:
                _refuse_duplicate(label, [c["label"] for c in meta["classes"]], "class", self.name)
                taken = {c["folder"] for c in meta["classes"]} | set(os.listdir(self.path)) | RESERVED
                folder = folder_for(label, taken)
                (self.path / folder).mkdir()
                made.append(self.path / folder)
                meta["classes"].append({"label": label, "folder": folder, "enabled": True})
        except BaseException:
            for d in made:  # project.json was not updated (a full disk): no folder without its class
                d.rmdir()
            raise
        return ClassInfo(label, folder, True, 0)

    def rename_class(self, label: str, new_label: str) -> None:
        new_label = check_name(new_label, "class name")
        with self._editing() as meta:
            entry = _find(meta["classes"], label, self.name)
            others = [c["label"] for c in meta["classes"] if c is not entry]
            _refuse_duplicate(new_label, others, "class", self.name)
            entry["label"] = new_label  # the folder keeps its name: nothing moves on disk

    def set_enabled(self, label: str, enabled: bool) -> None:
        with self._editing() as meta:
            _find(meta["classes"], label, self.name)["enabled"] = bool(enabled)

    def reorder(self, labels: list[str]) -> None:
        with self._editing() as meta:
            current = [c["label"] for c in meta["classes"]]
            entries = [_find(meta["classes"], lb, self.name) for lb in labels]
            if len({id(e) for e in entries}) != len(current) or len(entries) != len(current):
                raise StudioError(
                    f"Reordering needs every class of {self.name!r} exactly once: {current}; got {labels}."
                )
            meta["classes"] = entries

    def move_class(self, label: str, offset: int) -> None:
        order = self.labels()
        i = order.index(self.class_info(label).label)
        j = max(0, min(len(order) - 1, i + offset))
        order.insert(j, order.pop(i))
        self.reorder(order)

    def delete_class(self, label: str) -> None:
        """Delete a class and its images: an explicit user action."""
        with self._editing() as meta:
            entry = _find(meta["classes"], label, self.name)
            meta["classes"].remove(entry)
            shutil.rmtree(self.path / entry["folder"], ignore_errors=True)

    # ---- samples ------------------------------------------------------------------
    def _count(self, folder: str, own: Kind) -> int:
        """The samples of kind ``own`` in class folder ``folder``."""
        return len(_listing(self.path / folder, own)[0])

    def samples(self, label: str | None = None) -> list[Sample]:
        """Samples of one class (or of all classes in class order), newest first within a class:
        plain files only, never a symbolic link (see ``strays``)."""
        chosen = [self.class_info(label)] if label is not None else self.classes()
        own = self.kind
        return [Sample(c.label, self.path / c.folder / n) for c in chosen
                for n in sorted(_listing(self.path / c.folder, own)[0], reverse=True)]

    def strays(self, label: str | None = None) -> list[Stray]:
        """What a class folder (of one class, or of all) holds under a sample's name but studio will
        not read: symbolic links (they may point out of the project; studio never makes one) and
        anything else that is not a plain file. Never deleted: the user decides."""
        chosen = [self.class_info(label)] if label is not None else self.classes()
        own = self.kind
        return [Stray(c.label, self.path / c.folder / n, why) for c in chosen
                for n, why in sorted(_listing(self.path / c.folder, own)[1].items())]

    def add_sample(self, label: str, source: Any, name: str | None = None, capture: str = "") -> Sample:
        """Store ``source`` (an image for photo and sketch projects, a clip for sound projects:
        anything the kind decodes) as a new sample of class ``label``, part of ``capture`` if
        given; the file appears complete or not at all."""
        info = self.class_info(label, count=False)
        data, suffix = self.kind.stored(source, name)
        return self.add_file(info, data, suffix, capture)

    def add_upload(self, label: str, source: Any, name: str, capture: str = "") -> list[Sample]:
        """Store one uploaded file in class ``label``: one sample, or (a long sound file) the
        clips the kind cuts it into, all part of ``capture`` (or of a new one, if several)."""
        info = self.class_info(label)
        pieces = self.kind.uploaded(source, name, info.label)
        capture = capture or (new_capture() if len(pieces) > 1 else "")
        return [self.add_file(info, data, suffix, capture) for data, suffix in pieces]

    def add_recording(self, label: str, source: Any, name: str | None = None, seconds: float = 1.0,
                      skip_silence: bool | None = None) -> list[Sample]:
        """Split a recording into samples of ``seconds`` and store each in class ``label`` (sound
        projects: one clip per sound, or, with ``skip_silence`` False and by default for
        background noise, consecutive clips)."""
        info = self.class_info(label)
        pieces = self.kind.recording(source, name, info.label, seconds, skip_silence)
        capture = new_capture()  # the clips of one recording are near-copies of one moment
        return [self.add_file(info, data, suffix, capture) for data, suffix in pieces]

    def add_file(self, info: ClassInfo, data: bytes, suffix: str, capture: str = "", stem: str = "") -> Sample:
        """Store already-encoded sample bytes under a new, unique name in class ``info`` (``stem``
        from ``new_stem``, or one made now: names sort by time; ``capture``, if given, ends the name)."""
        folder = self.path / info.folder
        stem = stem or new_stem(capture)
        while True:
            try:
                atomic.write_new(folder / f"{stem}{suffix}", data)
                return Sample(info.label, folder / f"{stem}{suffix}")
            except FileExistsError:
                stem = new_stem(capture)

    def already_stored(self, paths: list[Path]) -> list[Path]:
        """The files among ``paths`` that hold a sample this project already has (the same
        picture or clip, whatever its file name or format): what training saw."""
        own = self.kind
        stored = {hashlib.sha1(s.path.read_bytes()).hexdigest() for s in self.samples()}
        found = []
        for path in paths:
            try:
                data, _ = own.stored(path)
            except BadSample:
                continue
            if hashlib.sha1(data).hexdigest() in stored:
                found.append(path)
        return found

    def sample_path(self, label: str, name: str) -> Path:
        """The path of sample ``name`` of class ``label``; refuses anything outside the class folder."""
        info = self.class_info(label)
        if Path(name).name != name or not self.kind.is_sample(name):
            raise NotFound(f"{name!r} is not a sample name.")
        path = self.path / info.folder / name
        if path.parent.is_symlink() or path.is_symlink() or not path.is_file():  # links are never read
            raise NotFound(f"Class {info.label!r} has no sample {name!r}.")
        return path

    def delete_sample(self, label: str, name: str) -> None:
        self.sample_path(label, name).unlink()

    def counts(self) -> dict[str, int]:
        return {c.label: c.count for c in self.classes()}

    # ---- model --------------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def cache_dir(self) -> Path:
        return self.path / ".cache"

    def __repr__(self) -> str:
        return f"Project({self.folder!r})"


class Store:
    """All projects under one root folder (``captures/`` by default)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def projects(self) -> list[Project]:
        if not self.root.is_dir():
            return []
        found = [Project(self, d.name) for d in sorted(self.root.iterdir()) if (d / META).is_file()]
        return sorted(found, key=lambda p: p.name.casefold())

    def names(self) -> list[str]:
        return [p.name for p in self.projects()]

    def project(self, name: str) -> Project:
        """Find a project by name (case-insensitive) or by folder name."""
        projects = self.projects()
        for p in projects:
            if p.name == name:
                return p
        for p in projects:
            if p.name.casefold() == str(name).casefold() or p.folder == name:
                return p
        known = ", ".join(repr(p.name) for p in projects) or "none yet"
        raise NotFound(f"No project named {name!r} in {self.root}; projects: {known}.")

    def create(self, name: str, kind_name: str | Kind = PHOTO.name,
               classes: tuple[str, ...] | list[str] | None = None) -> Project:
        """A new project; its classes default to Teachable Machine's ("Class 1", "Class 2", or
        "Background noise", "Class 2" for sound)."""
        name = check_name(name, "project name")
        own = kind(kind_name)
        if classes is None:
            classes = own.default_classes
        labels = [check_name(c, "class name") for c in classes]
        for i, lb in enumerate(labels):
            _refuse_duplicate(lb, labels[:i], "class", name)
        self.root.mkdir(parents=True, exist_ok=True)
        with _lock(self.root):
            _refuse_duplicate(name, self.names(), "project", None)
            folder = folder_for(name, set(os.listdir(self.root)))
            tmp = self.root / f".new-{folder}-{secrets.token_hex(4)}"
            try:
                with atomic.on_disk(self.root):
                    tmp.mkdir()
                    entries = []
                    for lb in labels:
                        f = folder_for(lb, {e["folder"] for e in entries} | RESERVED)
                        (tmp / f).mkdir()
                        entries.append({"label": lb, "folder": f, "enabled": True})
                    atomic.write_json(tmp / META, {
                        "schema": SCHEMA, "name": name, "kind": own.name,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "classes": entries,
                        "settings": own.default_settings(),
                    })
                    os.rename(tmp, self.root / folder)  # the project appears whole or not at all
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return Project(self, folder)

    def rename(self, name: str, new_name: str) -> Project:
        """Rename a project; its folder keeps its name so nothing moves on disk."""
        new_name = check_name(new_name, "project name")
        project = self.project(name)
        with _lock(self.root):
            others = [p.name for p in self.projects() if p.folder != project.folder]
            _refuse_duplicate(new_name, others, "project", None)
            with project._editing() as meta:
                meta["name"] = new_name
        return project

    def delete(self, name: str) -> None:
        """Delete a project and everything in it: an explicit user action."""
        project = self.project(name)
        trash = self.root / f".deleted-{project.folder}-{secrets.token_hex(4)}"
        os.rename(project.path, trash)  # disappears at once; the slow removal follows
        shutil.rmtree(trash, ignore_errors=True)


LINK = "a symbolic link, which studio does not follow (it may point out of the project)"


def _listing(folder: Path, own: Kind) -> tuple[set[str], dict[str, str]]:
    """The names in class folder ``folder`` that look like samples of kind ``own``: those that
    are plain files, and why each other one is not read (a link, a folder, a device). A class
    folder that is itself a symbolic link holds nothing studio reads: it is named as "." (the
    folder itself)."""
    try:
        if folder.is_symlink():
            return set(), {".": LINK}
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return set(), {}
    files, others = set(), {}
    for e in entries:
        if not own.is_sample(e.name):
            continue
        if e.is_file(follow_symlinks=False):
            files.add(e.name)
        else:
            others[e.name] = LINK if e.is_symlink() else "not a plain file"
    return files, others


def _find(entries: list[dict], label: str, project: str) -> dict:
    for e in entries:
        if e["label"] == label:
            return e
    for e in entries:
        if e["label"].casefold() == str(label).casefold():
            return e
    raise NotFound(
        f"Project {project!r} has no class {label!r}; its classes are: "
        + ", ".join(repr(e["label"]) for e in entries)
    )


def _refuse_duplicate(name: str, existing: list[str], what: str, project: str | None) -> None:
    for other in existing:
        if other.casefold() == name.casefold():
            where = f" in project {project!r}" if project else ""
            raise Conflict(f"A {what} named {other!r} already exists{where}; choose another name.")


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``folder`` shared by all processes using the store."""
    if not folder.is_dir():
        raise NotFound(f"{folder} does not exist.")
    with atomic.locked(folder):
        yield



