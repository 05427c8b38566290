"""Bringing images into a project and taking them out: class folders, zips, Teachable
Machine ``.tm`` files.

Archive entries are read into memory and stored under names studio makes up, so no
entry name ever becomes a path on disk; entry counts and sizes are bounded.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from . import atomic, features, images
from .errors import BadImage, NotFound, StudioError, TooLarge
from .names import folder_for
from .store import Project, Store

MAX_ENTRIES = 50_000
MAX_ENTRY_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 2 * 2**30
MAX_RATIO = 200  # uncompressed / compressed, beyond which an entry is a zip bomb
TM_SEPARATOR = "-!-"
TM_SIZE = 224
TM_DEFAULTS = {"trainEpochs": 50, "trainBatchSize": 16, "trainLearningRate": 0.001}


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def count(self, label: str) -> None:
        self.added[label] = self.added.get(label, 0) + 1

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))

    def summary(self) -> str:
        total = sum(self.added.values())
        parts = [f"Imported {total} image(s) into {len(self.added)} class(es)"]
        parts += [f"{lb}: {n}" for lb, n in self.added.items()]
        text = "; ".join(parts) + "."
        if self.skipped:
            reasons: dict[str, int] = {}
            for _, why in self.skipped:
                reasons[why] = reasons.get(why, 0) + 1
            text += (f" Skipped {len(self.skipped)} file(s): "
                     + "; ".join(f"{n} {why}" for why, n in reasons.items()) + ".")
        return text


# ---- reading archives safely --------------------------------------------------------------
def zip_entries(source: Path | bytes) -> Iterator[tuple[PurePosixPath, bytes | None, str]]:
    """(path, data, reason) for each file entry; data is None when skipped for ``reason``."""
    try:
        z = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as e:
        raise StudioError(f"{_name(source)} is not a readable zip file ({e}).") from None
    with z:
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES:
            raise StudioError(f"{_name(source)} has {len(infos):,} entries; studio reads at most {MAX_ENTRIES:,}.")
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            path = PurePosixPath(info.filename.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts or info.filename.startswith("/"):
                yield path, None, "unsafe path"
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                yield path, None, "symbolic link"
                continue
            if any(p.startswith(".") or p == "__MACOSX" for p in path.parts):
                yield path, None, "hidden file"
                continue
            if not images.is_image_name(path.name):
                yield path, None, "not an image"
                continue
            if info.file_size > MAX_ENTRY_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1):
                yield path, None, "too large"
                continue
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise StudioError(f"{_name(source)} unpacks to more than {MAX_TOTAL_BYTES // 2**30} GiB; split it.")
            try:
                data = z.read(info)
            except (zipfile.BadZipFile, OSError, RuntimeError) as e:
                yield path, None, f"unreadable ({e.__class__.__name__})"
                continue
            yield path, data, ""


def _name(source: Path | bytes) -> str:
    return "The uploaded data" if isinstance(source, bytes) else str(source)


def _class_entries(entries) -> Iterator[tuple[str | None, str, bytes | None, str]]:
    """(class name or None, entry name, data, reason) for ImageFolder-style archives."""
    entries = list(entries)
    # Only the images decide whether a wrapper folder surrounds the class folders: a zip made
    # by macOS also holds __MACOSX/..., and a README may sit beside the class folders.
    paths = [p for p, data, _ in entries if data is not None]
    strip = 0
    firsts = {p.parts[0] for p in paths if len(p.parts) > 1}
    if len(firsts) == 1 and all(len(p.parts) >= 3 for p in paths if p.parts[0] in firsts):
        strip = 1  # a single wrapper folder around the class folders
    for p, data, reason in entries:
        parts = p.parts[strip:]
        yield (parts[0] if len(parts) >= 2 else None), str(p), data, reason


# ---- import ---------------------------------------------------------------------------------
def import_into(store: Store, project_name: str, source: str | Path, kind: str = "photo") -> ImportReport:
    """Import a class-folder tree, a zip of one, a ``.tm`` file, or a studio export made with its
    images (its labels, class order and settings kept) into a project (created if new)."""
    source = Path(source)
    if not source.exists():
        raise StudioError(f"{source} does not exist; give a folder, a .zip or a .tm file.")
    try:
        project = store.project(project_name)
    except StudioError:
        project = None
    report = ImportReport()
    from .reopen import exported_dataset  # a studio export made with its training images

    exported = exported_dataset(source)
    if exported is not None:
        items = exported.items
        if project is None:
            project = store.create(project_name, exported.kind, classes=exported.labels)
            project.set_settings(exported.settings)
    elif source.is_dir():
        items = _folder_items(source)
    elif source.suffix.lower() == ".tm":
        items, settings = _tm_items(source)
        if project is None:
            project = store.create(project_name, kind, classes=[])
            project.set_settings(settings)
    elif zipfile.is_zipfile(source):
        items = _class_entries(zip_entries(source))
    else:
        raise StudioError(f"{source} is not a folder, a .zip or a .tm file.")
    if project is None:
        project = store.create(project_name, kind, classes=[])
    _add_items(project, items, report)
    if not report.added:
        raise StudioError(
            f"No images found in {source}: expected one sub-folder per class holding image files. {report.summary()}"
        )
    return report


def _folder_items(root: Path):
    for cls_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if cls_dir.is_symlink():
            yield None, str(cls_dir), None, "symbolic link"
        elif cls_dir.is_file():
            yield None, str(cls_dir), None, "not in a class folder"
        else:
            for f in sorted(cls_dir.rglob("*")):
                if f.is_symlink():
                    yield cls_dir.name, str(f), None, "symbolic link"
                elif f.is_file() and not f.name.startswith("."):
                    if not images.is_image_name(f.name):
                        yield cls_dir.name, str(f), None, "not an image"
                    elif f.stat().st_size > MAX_ENTRY_BYTES:
                        yield cls_dir.name, str(f), None, "too large"
                    else:
                        yield cls_dir.name, str(f), f.read_bytes(), ""


def _add_items(project: Project, items, report: ImportReport) -> None:
    known = {c.label.casefold(): c.label for c in project.classes()}
    for label, name, data, reason in items:
        if data is None or label is None:
            report.skip(name, reason or "not in a class folder")
            continue
        key = label.casefold()
        if key not in known:
            known[key] = project.add_class(label).label
        try:
            project.add_sample(known[key], data, name=name)
        except BadImage as e:
            report.skip(name, _why(e))
            continue
        report.count(known[key])


def add_archive(project: Project, label: str, source: Path | bytes) -> ImportReport:
    """Add every image in a zip (at any depth) to one class."""
    report = ImportReport()
    _add_items(project, ((label, str(p), d, r) for p, d, r in zip_entries(source)), report)
    return report


def add_files(project: Project, label: str, paths: list[Path]) -> ImportReport:
    """Add image files (and the images inside zip files) to one class."""
    report = ImportReport()
    for p in map(Path, paths):
        if p.suffix.lower() == ".zip":
            if not zipfile.is_zipfile(p):
                report.skip(p.name, "not a readable zip file")
                continue
            try:
                sub = add_archive(project, label, p)
            except NotFound:  # the class itself has gone
                raise
            except StudioError as e:  # too many entries, or too large unpacked: skipped like a bad image
                report.skip(p.name, str(e).replace(str(p), p.name))
                continue
            for lb, n in sub.added.items():
                report.added[lb] = report.added.get(lb, 0) + n
            report.skipped += sub.skipped
            continue
        try:
            project.add_sample(label, p, name=p.name)
            report.count(project.class_info(label).label)
        except BadImage as e:
            report.skip(p.name, _why(e))
    return report


def _why(e: BadImage) -> str:
    return "too large to decode safely" if isinstance(e, TooLarge) else "not a readable image"


# ---- Teachable Machine .tm --------------------------------------------------------------------
def _tm_items(source: Path):
    entries = list(zip_entries(source))
    try:
        with zipfile.ZipFile(source) as z:
            manifest = json.loads(z.read("manifest.json").decode("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except KeyError:
        raise StudioError(f"{source} has no manifest.json, so it is not a Teachable Machine project file.") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise StudioError(f"The manifest.json in {source} is broken ({e}).") from None
    if manifest.get("type", "image") != "image":
        raise StudioError(f"{source} is a Teachable Machine {manifest.get('type')!r} project; "
                          "studio imports image projects.")
    app = manifest.get("appdata") if isinstance(manifest.get("appdata"), dict) else {}
    settings = {}
    for key, name, typ in (("trainEpochs", "epochs", int), ("trainBatchSize", "batch_size", int),
                           ("trainLearningRate", "learning_rate", float)):
        try:
            settings[name] = typ(app.get(key, TM_DEFAULTS[key]))
        except (TypeError, ValueError):
            settings[name] = TM_DEFAULTS[key]
    samples: dict[str, list[tuple[int, str, bytes | None, str]]] = {}
    skipped = []
    for path, data, reason in entries:
        stem = path.stem
        if TM_SEPARATOR not in stem or len(path.parts) != 1:
            if path.name != "manifest.json":
                skipped.append((None, str(path), None, reason or "not a Teachable Machine sample"))
            continue
        label, _, index = stem.rpartition(TM_SEPARATOR)
        samples.setdefault(label, []).append((int(index) if index.isdigit() else 0, str(path), data, reason))
    items = [(label, name, data, reason) for label, rows in samples.items()
             for _, name, data, reason in sorted(rows, key=lambda r: r[0])]
    return items + skipped, settings


def save_tm(project: Project, dest: Path) -> Path:
    """A ``.tm`` file Teachable Machine opens: 224x224 JPEG samples and a manifest."""
    s = project.settings()
    manifest = {"type": "image", "version": "2.4.11", "appdata": {
        "trainEpochs": int(s.get("epochs", TM_DEFAULTS["trainEpochs"])),
        "trainBatchSize": int(s.get("batch_size", TM_DEFAULTS["trainBatchSize"])),
        "trainLearningRate": float(s.get("learning_rate", TM_DEFAULTS["trainLearningRate"])),
    }}

    def write(z: zipfile.ZipFile) -> None:
        z.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
        for c in project.classes():
            for i, sample in enumerate(reversed(project.samples(c.label))):  # oldest first
                rgb = features.center_square(np.asarray(images.load(sample.path)))
                img = images.Image.fromarray(rgb).resize((TM_SIZE, TM_SIZE), images.Image.Resampling.BILINEAR)
                z.writestr(f"{c.label}{TM_SEPARATOR}{i}.jpg", images.to_jpeg(img))

    return _write_zip(dest, write)


def save_zip(project: Project, dest: Path) -> Path:
    """The project's images as a zip of class folders (the ImageFolder convention), each named
    by its label where the label is a safe folder name, so importing the zip restores the labels."""
    def write(z: zipfile.ZipFile) -> None:
        used: set[str] = set()
        for c in project.classes():
            taken = {u.casefold() for u in used}
            name = c.label if _safe_entry_folder(c.label) and c.label.casefold() not in taken else \
                folder_for(c.label, used)
            used.add(name)
            for sample in reversed(project.samples(c.label)):  # oldest first, as they were added
                z.write(sample.path, f"{name}/{sample.name}")
    return _write_zip(dest, write)


def _safe_entry_folder(label: str) -> bool:
    return (label == label.strip() and label not in (".", "..") and not label.startswith(".")
            and not any(c in label for c in '/\\:*?"<>|') and label.isprintable())


def _write_zip(dest: Path, write) -> Path:
    dest = Path(dest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        write(z)
    os.makedirs(dest.parent or ".", exist_ok=True)
    atomic.write_bytes(dest, buf.getvalue())
    return dest



