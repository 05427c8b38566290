"""Training: the Train button (disabled while it runs, with a progress bar) and the Advanced
settings, which are stored in the project as soon as they change."""

from __future__ import annotations

import gradio as gr

from studio.errors import StudioError
from studio.features import registry
from studio.model import modelfile, training
from studio.model.modelfile import ModelRecord
from studio.model.settings import MODELS, TrainSettings
from studio.samples.store import Project

from .common import Studio, esc, guard

FEATURES = [(spec.title, name) for name, spec in registry.SPECS.items()]
FIELDS = ("model", "features", "size", "color", "augment", "epochs", "batch_size", "learning_rate", "hidden", "C", "k")
TRAIN, TRAINING = "Train model", "Training…"


def render(st: Studio) -> None:
    with gr.Column(elem_id="training"):
        gr.Markdown("### Training")
        button = gr.Button(TRAIN, variant="primary", elem_id="train-btn")
        status = gr.Markdown(elem_id="train-status", min_height=48)
        with gr.Accordion("Advanced", open=False, elem_id="advanced"):
            w = {
                "model": gr.Dropdown([(f"{desc} [{key}]", key) for key, desc in MODELS.items()], label="Model",
                                     elem_id="set-model"),
                "features": gr.Radio(FEATURES, label="Features", elem_id="set-features"),
                "size": gr.Number(label="Image size (px)", precision=0, minimum=0, maximum=256, elem_id="set-size",
                                  info="0: the features' default (64, or 16 for pixels)"),
            }
            with gr.Row():
                w["color"] = gr.Checkbox(label="Colour (off: grey)", elem_id="set-color")
                w["augment"] = gr.Checkbox(label="Add a mirrored copy of each image", elem_id="set-augment")
            gr.Markdown("Neural network (MLP) only:", elem_classes="small")
            with gr.Row():
                w["epochs"] = gr.Number(label="Epochs", precision=0, minimum=1, maximum=1000, elem_id="set-epochs")
                w["batch_size"] = gr.Number(label="Batch size", precision=0, minimum=1, maximum=4096,
                                            elem_id="set-batch")
            with gr.Row():
                w["learning_rate"] = gr.Number(label="Learning rate", minimum=1e-6, maximum=1, step=0.0001,
                                               elem_id="set-lr")
                w["hidden"] = gr.Number(label="Hidden units", precision=0, minimum=1, maximum=4096,
                                        elem_id="set-hidden")
            with gr.Row():
                w["C"] = gr.Number(label="C (SVM)", minimum=1e-4, maximum=1e6, elem_id="set-c")
                w["k"] = gr.Number(label="k (nearest neighbours)", precision=0, minimum=1, maximum=100,
                                   elem_id="set-k")
            reset = gr.Button("Reset to defaults", size="sm", elem_id="reset-settings")
    st.c.update(train=button, train_status=status, settings=w, reset=reset)


def settings_of(p: Project) -> TrainSettings:
    """The project's stored settings; defaults if they cannot be read (with a warning)."""
    try:
        return TrainSettings.from_dict(p.settings())
    except StudioError as e:
        gr.Warning(f"Using default settings: {esc(e)}")
        return TrainSettings()


def with_values(p: Project, values: tuple) -> TrainSettings:
    """The project's settings with the Advanced panel's values over them; StudioError if
    they are impossible (e.g. a HOG size that is not a multiple of its cell, or sound features
    for images)."""
    settings = settings_of(p).updated(**dict(zip(FIELDS, values)))
    settings.spec_for(p.kind)
    return settings


def run(st: Studio, folder: str, values: tuple | None, progress: gr.Progress) -> ModelRecord:
    """Train ``folder``'s project (with the panel's settings, if given) reporting progress."""
    p = st.project(folder)
    settings = with_values(p, values) if values is not None else settings_of(p)
    p.set_settings(settings.to_dict())
    progress(0, desc=f"Reading {p.kind.nouns}")
    return training.train(p, settings, progress=lambda i, n, msg: progress((i, n), desc=msg))


def summary(info: dict | None) -> str:
    """One line about a trained model, for the status under the Train button."""
    if not info:
        return "No model yet: add images to at least two classes, then train."
    m = info.get("metrics", {})
    test = m.get("test", {})
    acc = test.get("accuracy")
    score = (f"test accuracy **{acc:.0%}** on {test.get('n', 0)} held-back images" if acc is not None
             else "no images held back for testing (add more per class)")
    seconds = m.get("feature_seconds", 0) + m.get("fit_seconds", 0)
    return f"Model {info.get('id', '')}: trained in {seconds:.1f} s, {score}."


def listen(st: Studio) -> None:
    c = st.c
    project, model_version, w = c["project"], c["model_version"], c["settings"]

    def values_of(s: TrainSettings) -> list:
        d = s.to_dict()
        return [d[f] for f in FIELDS]

    def feature_choices(values: list, p: Project | None) -> list:
        """The settings' values, the Features radio offering only what the project kind can use."""
        allowed = p.kind.feature_kinds() if p is not None else registry.SPECS
        i = FIELDS.index("features")
        values[i] = gr.Radio(choices=[(registry.SPECS[k].title, k) for k in allowed], value=values[i])
        return values

    @guard
    def on_project(folder: str) -> list:
        p = st.project_or_none(folder)
        if p is None:
            return [*values_of(TrainSettings()), ""]
        info = modelfile.info(p.model_dir) if modelfile.exists(p.model_dir) else None
        return [*feature_choices(values_of(settings_of(p)), p), summary(info)]

    project.change(on_project, [project], [*w.values(), c["train_status"]])

    def save(folder: str, *values) -> None:
        p = st.project_or_none(folder)
        if p is None:
            return
        try:
            p.set_settings(with_values(p, values).to_dict())
        except StudioError as e:
            gr.Warning(esc(e))

    triggers = [x.blur if isinstance(x, gr.Number) else x.input for x in w.values()]
    gr.on(triggers, save, [project, *w.values()], None, show_progress="hidden")

    @guard
    def reset(folder: str) -> list:
        p = st.project(folder)
        defaults = TrainSettings(**p.kind.default_settings())
        p.set_settings(defaults.to_dict())
        return values_of(defaults)

    c["reset"].click(reset, [project], list(w.values()))

    @guard
    def train(folder: str, *values, progress=gr.Progress()) -> tuple[str, str]:
        record = run(st, folder, values, progress)
        return summary(record.info()) + " See *Under the hood* below.", record.id

    busy = c["train"].click(lambda: gr.Button(TRAINING, interactive=False), None, c["train"], queue=False)
    done = busy.then(train, [project, *w.values()], [c["train_status"], model_version], concurrency_limit=2)
    for after in (done.then, done.failure):  # Gradio 6.31 skips .then after a failure
        after(lambda: gr.Button(TRAIN, interactive=True), None, c["train"], queue=False)
