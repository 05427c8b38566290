"""Helpers shared by the core test files (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from conftest import FIXTURES, ROOT
from PIL import Image


def fixture_images(set_name: str, label: str, n: int | None = None) -> list[Path]:
    """The fixture image files of one class, sorted by name (first ``n`` if given)."""
    files = sorted((FIXTURES / set_name / label).iterdir())
    return files[:n] if n is not None else files


def fixture_classes(set_name: str) -> list[str]:
    return sorted(p.name for p in (FIXTURES / set_name).iterdir() if p.is_dir())


def make_project(store, name: str, set_name: str, kind: str = "photo", classes: list[str] | None = None,
                 n: int | None = None):
    """A project holding the fixture images of ``set_name`` (its classes in sorted order)."""
    classes = classes or fixture_classes(set_name)
    project = store.create(name, kind, classes=classes)
    for label in classes:
        for f in fixture_images(set_name, label, n):
            project.add_sample(label, f)
    return project


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_tm(path: Path, classes: dict[str, list[Path]], appdata: dict | None = None,
            extra: dict[str, bytes] | None = None) -> Path:
    """A Teachable Machine project file as TM writes it: manifest.json and one JPEG per sample
    named ``<label>-!-<index>.jpg``, written class after class."""
    manifest = {"type": "image", "version": "2.4.11",
                "appdata": appdata or {"trainEpochs": 50, "trainBatchSize": 16, "trainLearningRate": 0.001}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
        for label, files in classes.items():
            for i, f in enumerate(files):
                img = Image.open(f).convert("RGB").resize((224, 224))
                z.writestr(f"{label}-!-{i}.jpg", png_bytes(img, "JPEG", quality=90))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: no studio variables but the session's installation secret
    (STUDIO_CONFIG), no PYTHONPATH, no colour."""
    env = {k: v for k, v in os.environ.items() if k == "STUDIO_CONFIG"
           or (not k.startswith("STUDIO_") and k not in ("PYTHONPATH", "PYTHONSTARTUP"))}
    env.update(PYTHONIOENCODING="utf-8", **extra)
    return env


def run_cli(*args: str, captures: Path, cwd: Path | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m studio --captures CAPTURES ARGS...`` in a subprocess."""
    proc = subprocess.run([sys.executable, "-m", "studio", "--captures", str(captures), *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", cwd=cwd or ROOT,
                          env=clean_env(), timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"studio {' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def doodle(canvas: int, box: tuple[int, int, int], alpha: bool = False, pen: int | None = None) -> Image.Image:
    """A black doodle (a circle with a stalk and a leaf, like an apple) inside ``box`` =
    (left, top, side) on a white (or transparent) canvas, drawn with a ``pen`` px wide."""
    from PIL import ImageDraw

    left, top, side = box
    mode, bg = ("RGBA", (0, 0, 0, 0)) if alpha else ("RGB", (255, 255, 255))
    img = Image.new(mode, (canvas, canvas), bg)
    d = ImageDraw.Draw(img)
    w = pen or max(1, side // 12)
    ink = (0, 0, 0, 255) if alpha else (0, 0, 0)
    d.ellipse([left, top + side // 4, left + side - 1, top + side - 1], outline=ink, width=w)
    d.line([left + side // 2, top, left + side // 2, top + side // 2], fill=ink, width=w)
    d.line([left + side // 2, top + side // 8, left + 3 * side // 4, top], fill=ink, width=w)
    return img


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def run_without_studio(script, args, cwd) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS`` in a fresh process where ``import studio`` fails."""
    code = ("import runpy, sys; sys.modules['studio'] = None; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    return subprocess.run([sys.executable, "-I", "-c", code, str(script), *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd, env=clean_env(), timeout=120)


def make_spec(kind: str = "combined", size: int | None = None, color: bool = True, framing: str = "crop",
              cell: int | None = None) -> dict:
    """The JSON of a checked feature spec (what the kernels read), built as training settings
    build it, with HOG's cell size as an extra; StudioError saying what is impossible."""
    import dataclasses

    from studio.errors import StudioError
    from studio.features import registry

    if cell is None:
        return registry.from_settings(kind, size or 0, color, framing).to_json()
    try:
        spec = dataclasses.replace(registry.SPECS[kind].from_settings(size or 0, color, framing), cell=cell)
        return spec.checked().to_json()
    except ValueError as e:
        raise StudioError(str(e)) from None


def resigned(meta: dict) -> str:
    """model.json's ``meta`` signed with this installation's secret, as another studio version
    here would have written it (an edit studio did not sign is refused before anything else:
    test_model_trust.py)."""
    from studio.model import signing

    return json.dumps({**meta, "signature": signing.sign(meta)})


def one_line_error(proc) -> str:
    """A CLI failure in the house style (exit 1, one line on stderr, no traceback): that line."""
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr.strip()
