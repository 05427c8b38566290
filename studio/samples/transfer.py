"""Bringing samples into a project and taking them out: class folders, zips, Teachable
Machine ``.tm`` files, and studio exports made with their samples (walked in ``archives``).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.errors import BadImage, BadSample, DiskFull, NotFound, PhotoWithoutPose, StudioError, TooLarge
from studio.export.dataset import exported_dataset
from studio.features import image_kernel
from studio.kinds import KINDS, PHOTO, Kind, kind, kinds_of
from studio.samples import archives, images
from studio.samples.names import folder_for
from studio.samples.store import ClassInfo, Project, Store, new_capture, new_stem

TM_SEPARATOR = "-!-"
TM_SIZE = 224
WORKERS = min(8, 2 * (os.cpu_count() or 1))  # threads storing an import: fsync waits overlap
TM_DEFAULTS = {"trainEpochs": 50, "trainBatchSize": 16, "trainLearningRate": 0.001}


@dataclass
class ImportReport:
    noun: str = "image"  # what a sample is called: "image", "clip"
    added: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def count(self, label: str) -> None:
        self.added[label] = self.added.get(label, 0) + 1

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))

    def summary(self) -> str:
        total = sum(self.added.values())
        parts = [f"Imported {total} {self.noun}(s) into {len(self.added)} class(es)"]
        parts += [f"{lb}: {n}" for lb, n in self.added.items()]
        text = "; ".join(parts) + "."
        if self.skipped:
            text += f" Skipped {len(self.skipped)} file(s): {self.skipped_text()}."
        return text

    def skipped_text(self, shown: int = 5) -> str:
        """The skipped files by reason, naming the first ``shown`` of each, so that a user can
        find them: '2 not an image (a.txt, b.md); 1 not found (x.jpg)'."""
        reasons: dict[str, list[str]] = {}
        for name, why in self.skipped:
            reasons.setdefault(why, []).append(Path(name).name or name)
        parts = []
        for why, names in reasons.items():
            more = f" and {len(names) - shown} more" if len(names) > shown else ""
            parts.append(f"{len(names)} {why} ({', '.join(names[:shown])}{more})")
        return "; ".join(parts)


# ---- import ---------------------------------------------------------------------------------
def import_into(store: Store, project_name: str, source: str | Path,
                kind_name: str | Kind | None = None, workers: int | None = None) -> ImportReport:
    """Import a class-folder tree, a zip of one, a ``.tm`` file, or a studio export made with its
    samples (its labels, class order and settings kept) into a project (created if new, of kind
    ``kind_name``, or by default of the kind its files are), ``workers`` threads (default
    ``WORKERS``) decoding and writing samples."""
    source = Path(source)
    if not source.exists():
        raise StudioError(f"{source} does not exist; give a folder, a .zip or a .tm file.")
    try:
        project: Project | None = store.project(project_name)
    except StudioError:
        project = None
    exported = exported_dataset(source)
    if project is not None:
        own = project.kind
    elif kind_name is not None:
        own = kind(kind_name)
    else:
        own = PHOTO if exported is not None or source.suffix.lower() == ".tm" else _detected(source)
    if exported is not None:
        items = exported.items
        if project is None:
            project = store.create(project_name, exported.kind, classes=exported.labels)
            project.set_settings(exported.settings)
        own = project.kind
    elif source.is_dir():
        items = archives.folder_items(source, own.is_input, own.noun)
    elif source.suffix.lower() == ".tm":
        items, settings = _tm_items(source, own)
        if project is None:
            project = store.create(project_name, own, classes=[])
            project.set_settings(settings)
    elif zipfile.is_zipfile(source):
        items = archives.class_items(archives.zip_entries(source, own.is_input, own.noun))
    else:
        raise StudioError(f"{source} is not a folder, a .zip or a .tm file.")
    if project is None:
        project = store.create(project_name, own, classes=[])
    report = ImportReport(own.noun)
    _add_items(project, items, report, workers or WORKERS)
    if not report.added:
        raise StudioError(f"No {own.nouns} found in {source}: expected one sub-folder per class holding "
                          f"{own.noun} files. {report.summary()}")
    return report


def _detected(source: Path) -> Kind:
    """The kind of project a folder or zip of class folders makes: the one its files are (images
    make a photo project); StudioError when it holds samples of more than one kind."""
    found = kinds_of(archives.file_names(source))
    if set(found) == {PHOTO}:  # images by name; a kind may know its own by their contents (stored poses)
        head = archives.head_of(source, found[PHOTO])
        owner = next((k for k in KINDS.values() if k.claims(head)), None)
        if owner is not None:
            return owner
    if len(found) > 1:
        held = " and ".join(f"{k.nouns} (e.g. {Path(name).name})" for k, name in found.items())
        *first, last = KINDS
        raise StudioError(f"{source} holds both {held}; say which to import with --kind "
                          f"{', '.join(first)} or {last} (the other files are skipped).")
    return next(iter(found), PHOTO)


def _add_items(project: Project, items: Iterable[archives.Item], report: ImportReport, workers: int = 1) -> None:
    """Store each item; on a full disk, DiskFull says how many were stored before it filled."""
    try:
        _store_items(project, items, report, workers)
    except DiskFull:
        stored = sum(report.added.values())
        raise DiskFull(project.path, f" after {project.kind.count(stored)} of this import were stored in "
                       f"project {project.name!r}") from None


def _store_items(project: Project, items: Iterable[archives.Item], report: ImportReport, workers: int) -> None:
    """Decode, encode and write items on ``workers`` threads (decoding, encoding and fsync let go of
    the GIL), reading ahead a bounded number; the report follows the items' order."""
    own, known = project.kind, {c.label.casefold(): c for c in project.classes()}

    def store(info: ClassInfo, name: str, data: bytes, stem: str) -> str | None:
        try:
            project.add_file(info, *own.stored(data, name), stem=stem)
        except BadSample as e:
            return _why(e, own, name)
        return None

    pending: deque[tuple[str, str, Future]] = deque()

    def settle(until: int) -> None:
        while len(pending) > until:
            label, name, job = pending.popleft()
            reason = job.result()
            if reason is None:
                report.count(label)
            else:
                report.skip(name, reason)

    failed: list[Exception] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for label, name, data, reason in items:
                if data is None or label is None:
                    report.skip(name, reason or "not in a class folder")
                    continue
                key = label.casefold()
                if key not in known:
                    known[key] = project.add_class(label)
                info = known[key]
                pending.append((info.label, name, pool.submit(store, info, name, data, new_stem())))
                settle(4 * workers)
        finally:  # on an error (a full disk), what was stored still counts
            while pending:
                try:
                    settle(0)
                except Exception as e:  # the first error is the one raised
                    failed.append(e)
    if failed:
        raise failed[0]


def add_archive(project: Project, label: str, source: Path | bytes) -> ImportReport:
    """Add every sample in a zip (at any depth) to one class."""
    own = project.kind
    report = ImportReport(own.noun)
    entries = archives.zip_entries(source, own.is_input, own.noun)
    _add_items(project, (archives.Item(label, str(e.path), e.data, e.reason) for e in entries), report, WORKERS)
    return report


def add_files(project: Project, label: str, paths: list[Path]) -> ImportReport:
    """Add files (and the samples inside zip files) to one class: images, or sound files, a
    long one cut into clips. The files of one call are one capture (an upload of a moment's
    pictures): held back together or trained on together."""
    report = ImportReport(project.kind.noun)
    capture = new_capture() if len(paths) > 1 else ""  # one upload: held back or trained on whole
    for p in map(Path, paths):
        if not p.exists() or p.is_dir():
            report.skip(p.name or str(p), "a folder, not a file" if p.is_dir() else "not found")
            continue
        if p.suffix.lower() == ".zip":
            if not zipfile.is_zipfile(p):
                report.skip(p.name, "not a readable zip file")
                continue
            try:
                sub = add_archive(project, label, p)
            except NotFound:  # the class itself has gone
                raise
            except StudioError as e:  # too many entries, or too large unpacked: skipped like a bad file
                report.skip(p.name, str(e).replace(str(p), p.name))
                continue
            for lb, n in sub.added.items():
                report.added[lb] = report.added.get(lb, 0) + n
            report.skipped += sub.skipped
            continue
        try:
            added = project.add_upload(label, p, p.name, capture)
        except BadSample as e:
            report.skip(p.name, _why(e, project.kind, p.name))
            continue
        for _ in added:
            report.count(project.class_info(label).label)
    return report


def _why(e: BadSample, own: Kind, name: str = "") -> str:
    """Why a file was skipped, without its name (the report names the files by reason)."""
    if isinstance(e, TooLarge):
        return "too large to decode safely"
    if isinstance(e, PhotoWithoutPose):
        return e.reason
    if isinstance(e, BadImage):
        return f"not a readable {own.noun}"
    why = str(e).rstrip(".")
    return why.removeprefix(f"{name} is ") if name and why.startswith(f"{name} is ") else why


# ---- Teachable Machine .tm --------------------------------------------------------------------
def _tm_items(source: Path, own: Kind) -> tuple[list[archives.Item], dict]:
    if not own.teachable_file:
        raise StudioError(f"{source} is a Teachable Machine image project file; a {own.name} project cannot "
                          "import it.")
    entries = list(archives.zip_entries(source, own.is_input, own.noun))
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
                skipped.append(archives.Item(None, str(path), None, reason or "not a Teachable Machine sample"))
            continue
        label, _, index = stem.rpartition(TM_SEPARATOR)
        samples.setdefault(label, []).append((int(index) if index.isdigit() else 0, str(path), data, reason))
    items = [archives.Item(label, name, data, reason) for label, rows in samples.items()
             for _, name, data, reason in sorted(rows, key=lambda r: r[0])]
    return items + skipped, settings


def save_tm(project: Project, dest: Path) -> Path:
    """A ``.tm`` file Teachable Machine opens: 224x224 JPEG samples and a manifest."""
    if not project.kind.teachable_file:
        raise StudioError(f"Project {project.name!r} is a {project.kind} project; Teachable Machine project "
                          "files hold images: save it as a .zip instead.")
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
                rgb = image_kernel.center_square(np.asarray(images.load(sample.path)))
                img = images.Image.fromarray(rgb).resize((TM_SIZE, TM_SIZE), images.Image.Resampling.BILINEAR)
                z.writestr(f"{c.label}{TM_SEPARATOR}{i}.jpg", images.to_jpeg(img))

    return archives.write_zip(dest, write)


def save_zip(project: Project, dest: Path, labels: list[str] | None = None) -> Path:
    """The project's samples (of the classes ``labels``, or all) as a zip of class folders (the
    ImageFolder convention), each named by its label where the label is a safe folder name, so
    importing the zip restores the labels."""
    chosen = [project.class_info(lb) for lb in labels] if labels is not None else project.classes()

    def write(z: zipfile.ZipFile) -> None:
        used: set[str] = set()
        for c in chosen:
            taken = {u.casefold() for u in used}
            name = c.label if _safe_entry_folder(c.label) and c.label.casefold() not in taken else \
                folder_for(c.label, used)
            used.add(name)
            for sample in reversed(project.samples(c.label)):  # oldest first, as they were added
                z.write(sample.path, f"{name}/{sample.name}")
    return archives.write_zip(dest, write)


def _safe_entry_folder(label: str) -> bool:
    return (label == label.strip() and label not in (".", "..") and not label.startswith(".")
            and not any(c in label for c in '/\\:*?"<>|') and label.isprintable())
