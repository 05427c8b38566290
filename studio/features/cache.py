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
from concurrent.futures import ThreadPoolExecutor
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
        vecs, failed = self.readable(paths, variants, progress, noun)
        if failed:
            named = [f"{paths[i].parent.name}/{paths[i].name} ({why})" for i, why in failed.items()]
            raise self.spec.unreadable(
                f"{len(failed)} {noun}(s) could not be read; delete or replace them: " + "; ".join(named[:10])
                + (" ..." if len(named) > 10 else ""))
        return vecs

    def readable(self, paths: list[Path], variants: tuple[str, ...] = ("plain",),
                 progress: Progress | None = None, noun: str = "sample"
                 ) -> tuple[dict[str, np.ndarray], dict[int, str]]:
        """The vectors of the files of ``paths`` that could be read, in order ({variant: (n, d)
        float32}), and why each other one could not ({index into paths: reason}): training goes
        on without a damaged file, and says which it left out."""
        rows = self._load()
        keys = [{v: _file_key(path, v) for v in variants} for path in paths]
        missing = [i for i, k in enumerate(keys) if not all(key in rows for key in k.values())]
        self.hits += len(paths) - len(missing)
        self.misses += len(missing)
        errors: dict[int, Exception] = {}
        done = len(paths) - len(missing)
        chunks = [missing[i:i + self.spec.batch] for i in range(0, len(missing), self.spec.batch)]
        workers = min(len(chunks), os.cpu_count() or 1) if self.spec.batch > 1 else 1
        with ThreadPoolExecutor(max(workers, 1)) as pool:
            for computed in (pool.map if workers > 1 else map)(lambda c: self._compute(paths, c, variants), chunks):
                for i, vecs in computed.items():
                    if isinstance(vecs, Exception):
                        errors[i] = vecs
                    else:
                        rows.update((keys[i][v], x) for v, x in vecs.items())
                done += len(computed)
                if progress:
                    progress(done, len(paths), f"Reading {noun}s")
        if progress and not missing:
            progress(len(paths), len(paths), f"Reading {noun}s")
        out = {v: [rows[k[v]] for i, k in enumerate(keys) if i not in errors] for v in variants}
        dim = len(next(iter(rows.values()))) if rows else 0
        vecs = {v: (np.stack(x).astype(np.float32) if x else np.zeros((0, dim), np.float32)) for v, x in out.items()}
        return vecs, {i: str(e) for i, e in sorted(errors.items())}

    def _compute(self, paths: list[Path], chunk: list[int], variants: tuple[str, ...]
                 ) -> dict[int, dict[str, np.ndarray] | Exception]:
        """{index: {variant: vector}, or the error that made the sample unreadable} for ``chunk``
        (indices into ``paths``), decoded once, computed as one batch."""
        decoded: dict[int, object] = {}
        result: dict[int, dict[str, np.ndarray] | Exception] = {}
        for i in chunk:
            try:
                decoded[i] = self.spec.decode(paths[i])
            except (BadSample, ValueError) as e:
                result[i] = e
        good = list(decoded)
        vecs: dict[int, dict[str, np.ndarray]] = {i: {} for i in good}
        for v, xs in self.spec.vectors([decoded[i] for i in good], variants).items():
            for i, x in zip(good, xs):
                if isinstance(x, ValueError):
                    result[i] = x
                else:
                    vecs[i][v] = x
        result.update({i: x for i, x in vecs.items() if i not in result})
        return result

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
