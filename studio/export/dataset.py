"""The training samples an export carries (``studio export --with-images``), read back so that
a project can be rebuilt from the export: its labels, class order, kind and settings kept."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from studio import kinds
from studio.errors import StudioError
from studio.kinds import Kind
from studio.model.settings import TrainSettings
from studio.samples import archives


@dataclass
class ExportedDataset:
    """The training samples of an export made with them, in the form ``transfer`` imports."""

    labels: list[str]  # every class, in the project's order
    kind: Kind  # the project kind to rebuild
    settings: dict  # the training settings the model was made with
    items: list[archives.Item]


def exported_dataset(source: str | Path) -> ExportedDataset | None:
    """The samples of a studio export folder or zip, or None if ``source`` is not a studio export.

    Raises StudioError for an export made without its samples.
    """
    source = Path(source)
    found = _export_metadata(source)
    if found is None:
        return None
    meta, root = found
    classes = [c for c in meta.get("dataset") or [] if isinstance(c, dict) and isinstance(c.get("label"), str)]
    if not classes:
        raise StudioError(f"{source} is a studio export without its training samples; export the project "
                          "again with them (--with-images) to rebuild it from the export.")
    spec = meta.get("feature_spec") if isinstance(meta.get("feature_spec"), dict) else {}
    own = kinds.for_spec(spec)
    label_of = {str(c.get("folder")): c["label"] for c in classes}
    order = {c["label"]: i for i, c in enumerate(classes)}
    if source.is_dir():
        dataset = source / "dataset"
        found_items = archives.folder_items(dataset, own.is_input, own.noun) if dataset.is_dir() else iter(())
    else:
        prefix = (root / "dataset").parts
        entries = archives.zip_entries(source, own.is_input, own.noun, within=lambda p: (
            len(p.parts) == len(prefix) + 2 and p.parts[:len(prefix)] == prefix))
        found_items = (archives.Item(e.path.parts[-2], str(e.path), e.data, e.reason) for e in entries)
    items = sorted((archives.Item(label_of.get(it.label, it.label), it.name, it.data, it.reason) if it.label
                    else it for it in found_items), key=lambda it: order.get(it.label, len(order)))
    return ExportedDataset([c["label"] for c in classes], own, _settings(meta.get("settings")), items)


def _export_metadata(source: Path) -> tuple[dict, PurePosixPath] | None:
    """(metadata, the export's folder inside the zip) if ``source`` is a studio export, else None."""
    root = PurePosixPath()
    if source.is_dir():
        if not (source / "metadata.json").is_file():
            return None
        data = (source / "metadata.json").read_bytes()
    elif source.is_file() and zipfile.is_zipfile(source) and source.suffix.lower() != ".tm":
        with zipfile.ZipFile(source) as z:
            names = [n for n in z.namelist() if PurePosixPath(n).name == "metadata.json"
                     and len(PurePosixPath(n).parts) <= 2]
            if not names:
                return None
            root = PurePosixPath(names[0]).parent
            data = z.read(names[0])
    else:
        return None
    try:
        meta = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return (meta, root) if isinstance(meta, dict) and meta.get("packageName") == "studio" else None


def _settings(settings) -> dict:
    """The export's training settings if this studio can use them, else none."""
    try:
        return TrainSettings.from_dict(settings).to_dict() if isinstance(settings, dict) else {}
    except (StudioError, TypeError):
        return {}
