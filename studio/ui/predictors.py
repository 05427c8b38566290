"""Loaded models shared by every browser session, swapped as soon as a new one is trained."""

from __future__ import annotations

import threading
from pathlib import Path

from studio.errors import UntrustedModel
from studio.model import modelfile
from studio.model.predictor import Predictor
from studio.samples.store import Project

UNTRUSTED = ("This project's model was not made by this studio installation, and opening a model runs code "
             "stored in it: retrain to use it here.")


class Predictors:
    """One Predictor per project, keyed by the model id in ``model/model.json``.

    A stat of the pointer file per call is all a frame costs; the model is reloaded only
    when training wrote a new pointer, so a new model is live right after training ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int], str, Predictor]] = {}

    def get(self, project: Project) -> Predictor | None:
        """The project's current model, or None when it has none yet; StudioError when it is damaged,
        UntrustedModel (in the page's words) when this installation did not make it."""
        pointer = project.model_dir / modelfile.POINTER
        try:
            st = pointer.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        hit = self._cache.get(project.path)
        if hit and hit[0] == stamp:
            return hit[2]
        with self._lock:
            hit = self._cache.get(project.path)
            if hit and hit[0] == stamp:
                return hit[2]
            model_id = modelfile.info(project.model_dir).get("id", "")
            try:
                predictor = hit[2] if hit and hit[1] == model_id else Predictor.from_project(project)
            except UntrustedModel:  # the CLI's wording names --trust, which the page does not offer
                raise UntrustedModel(UNTRUSTED) from None
            self._cache[project.path] = (stamp, model_id, predictor)
            return predictor


def ranked(predictor: Predictor, image) -> dict[str, float]:
    """{label: confidence} with the predicted class first, so a display that sorts by
    confidence (stably) shows the same top class as ``predict`` even when confidences tie."""
    conf = predictor.predict(image)
    top, _ = predictor.top_of(conf)
    return {top: conf[top], **{k: v for k, v in conf.items() if k != top}}
