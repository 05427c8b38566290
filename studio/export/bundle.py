"""Exporting a trained model as a folder (and a zip of it) that programs without studio load.

Each format is a small object in ``FORMATS``: ``check`` says before anything is written
whether the model can be converted, ``write`` puts its files in the export folder and
returns their names. The folder always holds ``metadata.json`` and ``labels.txt``.
"""

from __future__ import annotations

import os
import platform
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from studio import __version__, kinds
from studio.errors import StudioError
from studio.export.formats import FORMATS
from studio.model import modelfile
from studio.samples import archives, atomic
from studio.samples.names import folder_for


def default_out() -> Path:
    return Path(os.environ.get("STUDIO_EXPORTS") or "exported")


def metadata(record: modelfile.ModelRecord, files: dict[str, list[str]], extra: dict | None = None) -> dict:
    test = record.metrics.test.to_json()
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return {
        # Teachable Machine's names, where they mean the same thing
        "labels": record.labels,
        "imageSize": record.spec.json.get("size"),
        "modelName": record.project_name,
        "timeStamp": now,
        "packageName": "studio",
        "packageVersion": __version__,
        **kinds.for_spec(record.spec).export_names(record.labels),
        # studio's own
        "feature_spec": record.spec.to_json(),
        "preprocessing": record.spec.describe(),
        **record.spec.metadata(),
        "model_id": record.id,
        "trained": record.created,
        "settings": record.settings,
        "metrics": {"test_accuracy": test["accuracy"], "n_test": test["n"], "per_class": test["per_class"],
                    "confusion": test["confusion"], "report": test["report"]},
        "files": files,
        "versions": {**record.versions, "exported_with_python": platform.python_version()},
        **(extra or {}),
    }


@dataclass
class ExportResult:
    folder: Path
    zip_path: Path
    files: dict[str, list[str]]


def export(record: modelfile.ModelRecord, out: Path | None = None,
           formats: tuple[str, ...] | list[str] | None = None, images: list | None = None) -> ExportResult:
    """Write ``exported/<project>-<timestamp>/`` and a zip of it, in ``formats`` (default: those of
    the model's project kind). ``images``: optional (label, folder, [paths]) triples to include as
    a ``dataset/`` of class folders."""
    formats = kinds.for_spec(record.spec).export_formats if formats is None else formats
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise StudioError(f"Unknown export format(s) {unknown}; choose from {', '.join(FORMATS)}.")
    for f in formats:
        FORMATS[f].check(record)  # refuse before writing anything
    out = Path(out) if out is not None else default_out()
    stem = f"{folder_for(record.project_name or 'model')}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    n = 1
    while (out / stem).exists() or (out / f"{stem}.zip").exists():
        n += 1
        stem = f"{stem.rsplit('~', 1)[0]}~{n}"
    tmp = out / f".{stem}.partial"
    tmp.mkdir()
    try:
        files = {f: FORMATS[f].write(record, tmp) for f in formats}
        beside = {k: v for f in formats for k, v in FORMATS[f].beside(record).items()}  # a network's graph
        for name, data in beside.items():
            atomic.write_bytes(tmp / name, data)
        if beside:
            files["features"] = list(beside)
        extra = {k: v for f in formats for k, v in FORMATS[f].extra_metadata(record).items()}
        extra["snippets"] = {f: FORMATS[f].snippet(record) for f in formats if FORMATS[f].snippet(record)}
        if images:
            extra["dataset"] = _write_dataset(tmp / "dataset", images)
            files["dataset"] = ["dataset/"]
        atomic.write_bytes(tmp / "labels.txt", ("\n".join(record.labels) + "\n").encode("utf-8"))
        atomic.write_json(tmp / "metadata.json", metadata(record, files, extra))
        _shareable(tmp)
        os.rename(tmp, out / stem)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        zip_path = archives.zip_folder(out / stem, out / f"{stem}.zip")
    except BaseException:  # the export is the folder and its zip: none without the other
        shutil.rmtree(out / stem, ignore_errors=True)
        raise
    return ExportResult(out / stem, zip_path, files)


def _shareable(folder: Path) -> None:
    """Give the export's files the mode any new file gets here (0644 under the usual umask), not
    the 0600 of atomic writes and copied project files: an export is made to be handed on. The
    zip, written after, then records that mode for its entries too."""
    probe = folder / ".mode"
    probe.touch()  # created as open() creates files: 0666 less the umask
    mode = stat.S_IMODE(probe.stat().st_mode)
    probe.unlink()
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(mode)


def _write_dataset(folder: Path, images: list) -> list[dict]:
    classes = []
    for label, sub, paths in images:
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for p in paths:
            shutil.copy2(p, folder / sub / Path(p).name)
        classes.append({"label": label, "folder": sub, "images": len(paths)})
    return classes
