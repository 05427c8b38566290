"""Walking folders and zips of samples safely, and writing zips atomically.

Archive entries are read into memory and stored under names studio makes up, so no entry name
ever becomes a path on disk; entry counts and sizes are bounded (zip bombs), links and hidden
files are skipped. Import (``transfer``), rebuilding a project from an export (``export.dataset``)
and exporting (``export.bundle``) all walk and write archives here.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from studio.errors import StudioError
from studio.samples import atomic

MAX_ENTRIES = 50_000
MAX_ENTRY_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 2 * 2**30
MAX_RATIO = 200  # uncompressed / compressed, beyond which an entry is a zip bomb


class Item(NamedTuple):
    """One file found in a folder or archive: its class (None outside a class folder), its name
    as found, and its bytes, or None and the reason it was skipped."""

    label: str | None
    name: str
    data: bytes | None
    reason: str = ""


class Entry(NamedTuple):
    path: PurePosixPath
    data: bytes | None
    reason: str = ""


def skipped_as(noun: str) -> str:
    """The reason given for a file that is not a sample: 'not an image', 'not a clip'."""
    return f"not {'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def zip_entries(source: Path | bytes, is_sample: Callable[[str], bool], noun: str,
                within: Callable[[PurePosixPath], bool] = lambda path: True) -> Iterator[Entry]:
    """Each file entry of a zip (those ``within`` says to look at), with its bytes, or None and
    why it was skipped; StudioError if the archive itself is unreadable or too large."""
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
                yield Entry(path, None, "unsafe path")
                continue
            if not within(path):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                yield Entry(path, None, "symbolic link")
            elif any(p.startswith(".") or p == "__MACOSX" for p in path.parts):
                yield Entry(path, None, "hidden file")
            elif not is_sample(path.name):
                yield Entry(path, None, skipped_as(noun))
            elif info.file_size > MAX_ENTRY_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1):
                yield Entry(path, None, "too large")
            else:
                total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise StudioError(f"{_name(source)} unpacks to more than {MAX_TOTAL_BYTES // 2**30} GiB; "
                                      "split it.")
                try:
                    yield Entry(path, z.read(info))
                except (zipfile.BadZipFile, OSError, RuntimeError) as e:
                    yield Entry(path, None, f"unreadable ({e.__class__.__name__})")


def _name(source: Path | bytes) -> str:
    return "The uploaded data" if isinstance(source, bytes) else str(source)


def class_items(entries: Iterable[Entry]) -> Iterator[Item]:
    """Items of an ImageFolder-style archive: the first folder of each path names its class,
    under at most one wrapper folder around all the class folders."""
    entries = list(entries)
    # Only the samples decide whether a wrapper folder surrounds the class folders: a zip made
    # by macOS also holds __MACOSX/..., and a README may sit beside the class folders.
    paths = [e.path for e in entries if e.data is not None]
    strip = 0
    firsts = {p.parts[0] for p in paths if len(p.parts) > 1}
    if len(firsts) == 1 and all(len(p.parts) >= 3 for p in paths if p.parts[0] in firsts):
        strip = 1
    for e in entries:
        parts = e.path.parts[strip:]
        yield Item(parts[0] if len(parts) >= 2 else None, str(e.path), e.data, e.reason)


def folder_items(root: Path, is_sample: Callable[[str], bool], noun: str) -> Iterator[Item]:
    """Items of a folder with one sub-folder per class (files at any depth inside a class
    folder); symbolic links are never followed."""
    for cls_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if cls_dir.is_symlink():
            yield Item(None, str(cls_dir), None, "symbolic link")
        elif cls_dir.is_file():
            yield Item(None, str(cls_dir), None, "not in a class folder")
        else:
            for f in sorted(cls_dir.rglob("*")):
                if f.is_symlink():
                    yield Item(cls_dir.name, str(f), None, "symbolic link")
                elif f.is_file() and not f.name.startswith("."):
                    if not is_sample(f.name):
                        yield Item(cls_dir.name, str(f), None, skipped_as(noun))
                    elif f.stat().st_size > MAX_ENTRY_BYTES:
                        yield Item(cls_dir.name, str(f), None, "too large")
                    else:
                        yield Item(cls_dir.name, str(f), f.read_bytes())


def file_names(source: Path) -> list[str]:
    """The paths of the files in a folder tree or a zip, read from no file: what an import looks
    at to tell which kind of samples it holds. Hidden files and links are left out, as the walks
    above skip them; an unreadable zip holds none (the walk then says why)."""
    def shown(parts: tuple[str, ...]) -> bool:
        return not any(p.startswith(".") or p == "__MACOSX" for p in parts)

    if source.is_dir():
        return [str(Path(folder, name)) for folder, _dirs, names in os.walk(source)  # follows no links
                for name in names if shown(Path(folder, name).relative_to(source).parts)
                and not Path(folder, name).is_symlink()]
    try:
        with zipfile.ZipFile(source) as z:
            return [i.filename for i in z.infolist() if not i.is_dir() and shown(PurePosixPath(i.filename).parts)]
    except (zipfile.BadZipFile, OSError):
        return []


def head_of(source: Path, name: str, size: int = 4096) -> bytes:
    """The first ``size`` bytes of the file ``name`` (as ``file_names`` gives it) of a folder tree or
    a zip: what an import reads when a file's name does not say what it holds; b"" if unreadable."""
    try:
        if source.is_dir():
            with open(name, "rb") as f:
                return f.read(size)
        with zipfile.ZipFile(source) as z, z.open(name) as f:
            return f.read(size)
    except (zipfile.BadZipFile, OSError, KeyError):
        return b""


def write_zip(dest: Path, write: Callable[[zipfile.ZipFile], None]) -> Path:
    """A zip made by ``write`` (in memory), written to ``dest`` atomically."""
    dest = Path(dest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        write(z)
    os.makedirs(dest.parent or ".", exist_ok=True)
    atomic.write_bytes(dest, buf.getvalue())
    return dest


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """Zip ``folder`` (entries under its own name) atomically, streaming from disk."""
    tmp = zip_path.with_name(f".{zip_path.name}.partial")
    try:
        with atomic.on_disk(zip_path.parent), zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    z.write(p, f"{folder.name}/{p.relative_to(folder).as_posix()}")
        os.replace(tmp, zip_path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk, say: no half-written zip
    return zip_path
