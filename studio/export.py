"""Exporting a trained model as a folder (and a zip of it) that programs without studio load.

Each format is a small object in ``FORMATS``: ``check`` says before anything is written
whether the model can be converted, ``write`` puts its files in the export folder and
returns their names. The folder always holds ``metadata.json`` and ``labels.txt``.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import __version__, atomic, features, featurize, modelfile
from .errors import StudioError
from .formats import DEFAULT_FORMATS, FORMATS
from .names import folder_for


def default_out() -> Path:
    return Path(os.environ.get("STUDIO_EXPORTS") or "exported")


def metadata(record: modelfile.ModelRecord, files: dict[str, list[str]], extra: dict | None = None) -> dict:
    test = record.metrics.get("test", {})
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return {
        # Teachable Machine's names, where they mean the same thing
        "labels": record.labels,
        "imageSize": record.spec.get("size"),
        "modelName": record.project_name,
        "timeStamp": now,
        "packageName": "studio",
        "packageVersion": __version__,
        **({"wordLabels": record.labels} if featurize.is_sound(record.spec) else {}),  # TM's audio name
        # studio's own
        "feature_spec": record.spec,
        "preprocessing": describe(record.spec),
        **({} if featurize.is_sound(record.spec) else
           {"sketch_framing": {"ink_below": features.SKETCH_INK, "margin": features.SKETCH_MARGIN}}),
        "model_id": record.id,
        "trained": record.created,
        "settings": record.settings,
        "metrics": {"test_accuracy": test.get("accuracy"), "n_test": test.get("n"),
                    "per_class": test.get("per_class"), "confusion": test.get("confusion"),
                    "report": test.get("report")},
        "files": files,
        "versions": {**record.versions, "exported_with_python": platform.python_version()},
        **(extra or {}),
    }


def describe(spec: dict) -> list[str]:
    """The input-to-vector steps in words, for programs that reimplement them."""
    if featurize.is_sound(spec):
        from .sounds import describe as describe_sound

        return describe_sound(spec)
    steps = ["decode the image; apply EXIF rotation; flatten transparency onto white with Pillow's "
             "alpha_composite; convert to 8-bit RGB"]
    if spec.get("framing") == "sketch":
        steps.append(f"crop to the bounding box of pixels whose smallest channel is below {features.SKETCH_INK}; "
                     f"pad with white to a centred square with a margin of round({features.SKETCH_MARGIN} * "
                     "the longer side) (at least 1 px)")
    else:
        steps.append("crop the largest centred square (offsets rounded down)")
    steps.append(f"resize to {spec['size']}x{spec['size']} with Pillow's BILINEAR filter (skip if already that size)")
    if spec["kind"] != "combined":
        return steps + [_describe_kind(spec)]
    steps.append("concatenate these float32 vectors, in this order:")
    for part in spec["parts"]:
        resize = "" if part["size"] == spec["size"] else \
            f"resize to {part['size']}x{part['size']} with Pillow's BILINEAR filter, then "
        steps.append(f"- {resize}{_describe_kind(part)}")
    return steps


def _describe_kind(spec: dict) -> str:
    grey = "grey = round(0.299 R + 0.587 G + 0.114 B) in float32"
    kind = spec["kind"]
    if kind == "pixels":
        colour = "RGB, row-major, channels last" if spec.get("color", True) else grey
        return f"take the pixels as float32 / 255 ({colour}) and flatten"
    if kind == "gist":
        o = spec["orients"]
        return (f"GIST of the grey image ({grey}): log(1 + grey); subtract a Gaussian blur (sigma "
                f"{features.GIST_SIGMA:g} px, as a product with numpy.fft.rfft2 of the image); divide by "
                "sqrt(the same blur of its square + 0.01); filter with "
                f"{spec['scales']} x {o} even log-Gabor filters (centre 0.35 / 2**s cycles per pixel, "
                f"bandwidth ratio 1.6, orientation pi * o / {o}, angular sigma pi / {o} / 1.2) in the "
                f"rfft2 domain (float32); mean |response| over a {spec['grid']}x{spec['grid']} grid of cells; "
                "square root; filters in order, cells row by row")
    if kind == "lbp":
        g = spec["grid"]
        return (f"LBP of the grey image ({grey}): 8 neighbours (radius 1, bit 0 top-left, clockwise), "
                "a bit set when the neighbour >= the centre; the 58 uniform codes in increasing order, "
                f"all others as a 59th label; per cell of a {g}x{g} grid over the interior (edges at "
                f"int(linspace(0, side - 2, {g + 1}))), a 59-bin histogram divided by its sum; square root; "
                "cells row by row")
    c = spec["cell"]
    if not spec.get("color", True):
        planes = f"the {grey} image"
    elif spec.get("channels") == "max":
        planes = "the RGB image (OpenCV takes each pixel's gradient from the channel where it is strongest)"
    else:
        planes = "each of R, G, B separately, concatenated"
    return (f"OpenCV 4 HOGDescriptor(win={spec['size']}, block={2 * c}, stride={c}, cell={c}, "
            f"bins={spec.get('bins', 9)}; unsigned gradients, no gamma correction, Gaussian window "
            f"sigma {c / 2:g}, L2-Hys 0.2) on {planes}; float32")


@dataclass
class ExportResult:
    folder: Path
    zip_path: Path
    files: dict[str, list[str]]


def export(record: modelfile.ModelRecord, out: Path | None = None,
           formats: tuple[str, ...] | list[str] = DEFAULT_FORMATS, images: list | None = None) -> ExportResult:
    """Write ``exported/<project>-<timestamp>/`` and a zip of it. ``images``: optional
    (label, folder, [paths]) triples to include as a ``dataset/`` of class folders."""
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
        extra = {k: v for f in formats for k, v in FORMATS[f].extra_metadata(record).items()}
        extra["snippets"] = {f: FORMATS[f].snippet(record) for f in formats if FORMATS[f].snippet(record)}
        if images:
            extra["dataset"] = _write_dataset(tmp / "dataset", images)
            files["dataset"] = ["dataset/"]
        atomic.write_bytes(tmp / "labels.txt", ("\n".join(record.labels) + "\n").encode("utf-8"))
        atomic.write_json(tmp / "metadata.json", metadata(record, files, extra))
        os.rename(tmp, out / stem)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    zip_path = zip_folder(out / stem, out / f"{stem}.zip")
    return ExportResult(out / stem, zip_path, files)


def _write_dataset(folder: Path, images: list) -> list[dict]:
    classes = []
    for label, sub, paths in images:
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for p in paths:
            shutil.copy2(p, folder / sub / Path(p).name)
        classes.append({"label": label, "folder": sub, "images": len(paths)})
    return classes


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """Zip ``folder`` (entries under its own name) atomically."""
    tmp = zip_path.with_name(f".{zip_path.name}.partial")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"{folder.name}/{p.relative_to(folder).as_posix()}")
    os.replace(tmp, zip_path)
    return zip_path
