"""Per-sample feature cache, keyed by file (name, size, mtime) and feature spec.

Retraining after adding a few images decodes only the new ones. The cache is a plain
``.npz`` per spec inside the project's ``.cache`` folder; deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from studio.errors import BadSample
from studio.features.spec import FeatureSpec
from studio.samples import atomic

Progress = Callable[[int, int, str], None]


def spec_key(spec: FeatureSpec) -> str:
    return hashlib.sha256(spec.key().encode()).hexdigest()[:16]


def _file_key(path: Path, variant: str) -> str:
    st = path.stat()
    return f"{path.parent.name}/{path.name}|{st.st_size}|{st.st_mtime_ns}|{variant}"


class FeatureCache:
    """Features of image files for one spec, loaded lazily and saved atomically."""

    def __init__(self, folder: Path, spec: FeatureSpec):
        self.path = Path(folder) / f"features-{spec_key(spec)}.npz"
        self.spec = spec
        self._rows: dict[str, np.ndarray] | None = None
        self.hits = 0
        self.misses = 0

    def _load(self) -> dict[str, np.ndarray]:
        if self._rows is None:
            self._rows = {}
            try:
                with np.load(self.path, allow_pickle=False) as z:
                    for k, row in zip(z["keys"].tolist(), z["x"]):
                        self._rows[k] = row
            except (FileNotFoundError, OSError, KeyError, ValueError, zipfile.BadZipFile):
                pass  # a missing or damaged cache is rebuilt
        return self._rows

    def vectors(self, paths: list[Path], variants: tuple[str, ...] = ("plain",),
                progress: Progress | None = None, noun: str = "sample") -> dict[str, np.ndarray]:
        """{variant: (n, d) float32} for ``paths``; raises BadImage or BadSound naming every
        unreadable file. ``noun``: what a sample is called in messages ("image", "clip")."""
        rows = self._load()
        out: dict[str, list[np.ndarray]] = {v: [] for v in variants}
        failed: list[str] = []
        for i, path in enumerate(paths):
            keys = {v: _file_key(path, v) for v in variants}
            if not all(k in rows for k in keys.values()):
                self.misses += 1
                try:
                    decoded = self.spec.decode(path)
                    for v, k in keys.items():
                        rows[k] = self.spec.vector(decoded, v)
                except (BadSample, ValueError) as e:
                    failed.append(f"{path.parent.name}/{path.name} ({e})")
                    continue
            else:
                self.hits += 1
            for v, k in keys.items():
                out[v].append(rows[k])
            if progress:
                progress(i + 1, len(paths), f"Reading {noun}s")
        if failed:
            raise self.spec.unreadable(
                f"{len(failed)} {noun}(s) could not be read; delete or replace them: " + "; ".join(failed[:10])
                + (" ..." if len(failed) > 10 else "")
            )
        dim = len(next(iter(rows.values()))) if rows else 0
        return {v: (np.stack(x).astype(np.float32) if x else np.zeros((0, dim), np.float32)) for v, x in out.items()}

    def save(self, keep: list[Path] | None = None) -> None:
        """Write the cache, dropping entries of files no longer in ``keep`` (if given)."""
        rows = self._load()
        if keep is not None:
            live = {f"{p.parent.name}/{p.name}" for p in keep}
            rows = {k: v for k, v in rows.items() if k.split("|", 1)[0] in live}
            self._rows = rows
        if not rows:
            return
        keys = list(rows)
        buf = io.BytesIO()
        np.savez(buf, keys=np.array(keys), x=np.stack([rows[k] for k in keys]).astype(np.float32))
        os.makedirs(self.path.parent, exist_ok=True)
        atomic.write_bytes(self.path, buf.getvalue())
