"""Training: the Train button (disabled while it runs, with a progress bar) and the Advanced
settings, which are stored in the project as soon as they change."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from gradio.components import Component

from studio.errors import StudioError
from studio.features import registry
from studio.kinds import Kind
from studio.model import modelfile, signing, training
from studio.model.metrics import Metrics
from studio.model.settings import MODELS, PREPROCESSING, TrainSettings, head_of
from studio.samples.store import Project

from .common import Page, Studio, esc, guard
from .predictors import UNTRUSTED

FEATURES = [(spec.title, name) for name, spec in registry.SPECS.items()]
FIELDS = ("model", "features", "size", "color", "augment", "preprocessing", "threshold", "epochs", "batch_size",
          "learning_rate", "hidden", "C", "k")
TRAIN, TRAINING = "Train model", "Training…"
SEE_HOOD = " See *Under the hood* below."


@dataclass(frozen=True)
class TrainPanel:
    """The studio page's Train button, its status line and the Advanced settings."""

    button: gr.Button
    status: gr.Markdown
    settings: dict[str, Component]  # one widget per TrainSettings field, in FIELDS order
    reset: gr.Button
    preprocessing_note: gr.Markdown  # what the chosen preprocessing does, in one sentence


def render() -> TrainPanel:
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
                w["augment"] = gr.Checkbox(label=f"Add {Kind.copies}", elem_id="set-augment")
            w["preprocessing"] = gr.Dropdown(list(PREPROCESSING), label="Preprocessing (before the model)",
                                             elem_id="set-preprocessing")
            note = gr.Markdown(preprocessing_text(TrainSettings.preprocessing), elem_classes="small",
                               elem_id="set-preprocessing-note")
            w["threshold"] = gr.Number(label="Binarize threshold", minimum=-1e6, maximum=1e6, visible=False,
                                       info="features above it become 1, the others 0", elem_id="set-threshold")
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
                w["C"] = gr.Number(label="C (SVM, logistic; 0: the features' own)", minimum=0, maximum=1e6,
                                   elem_id="set-c")
                w["k"] = gr.Number(label="k (nearest neighbours)", precision=0, minimum=1, maximum=100,
                                   elem_id="set-k")
            reset = gr.Button("Reset to defaults", size="sm", elem_id="reset-settings")
    return TrainPanel(button, status, {f: w[f] for f in FIELDS}, reset, note)


def preprocessing_text(name: str | None) -> str:
    """The Preprocessing dropdown's sentence: what ``name`` does to the features."""
    return f"*{esc(name)}*: {PREPROCESSING[name]}." if name in PREPROCESSING else ""


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


def model_info(p: Project | None) -> dict | None:
    """The project's model.json, or None while it has no model."""
    return modelfile.info(p.model_dir) if p is not None and modelfile.exists(p.model_dir) else None


def made_here(info: dict | None) -> bool:
    """Whether the page may show (and predict with) this model: one that came with a copied project
    is not this installation's, and its figures are not studio's to vouch for."""
    return info is not None and signing.verifies(info)


def summary(info: dict | None, kind: Kind) -> str:
    """One line about a trained model, for the status under a Train button."""
    if not info:
        return f"No model yet: add {kind.nouns} to at least two classes, then train."
    m = Metrics.from_json(info.get("metrics"))
    score = (f"test accuracy **{m.test.accuracy:.0%}** on {esc(m.held_back(kind.noun, kind.nouns))}"
             if m.test.accuracy is not None else f"no {kind.nouns} held back for testing (add more per class)")
    skipped = m.left_out(kind.noun, kind.nouns)
    return f"Model {info.get('id', '')}: trained in {m.seconds:.1f} s, {score}." + (f" {esc(skipped)}" * bool(skipped))


def status(p: Project) -> str:
    """The summary of the project's stored model, or why the page will not use it."""
    info = model_info(p)
    return UNTRUSTED if info is not None and not made_here(info) else summary(info, p.kind)


def wire_button(st: Studio, page: Page, button: gr.Button, status: gr.Markdown,
                settings: dict[str, Component] | None = None, hint: str = "") -> None:
    """Any page's Train button: disabled while the project trains (with the panel's
    ``settings`` over the stored ones, if the page has the panel), with a progress bar; the
    summary and ``hint`` go to ``status`` and the new model's id to the page's model_version."""
    widgets = list(settings.values()) if settings is not None else []

    @guard
    def train(folder: str, *values, progress=gr.Progress()) -> tuple[str, str]:
        p = st.project(folder)
        chosen = with_values(p, values) if settings is not None else settings_of(p)
        p.set_settings(chosen.to_dict())
        progress(0, desc=f"Reading {p.kind.nouns}")
        record = training.train(p, chosen, progress=lambda i, n, msg: progress((i, n), desc=msg))
        return summary(record.info(), p.kind) + hint, record.id

    busy = button.click(lambda: gr.Button(TRAINING, interactive=False), None, button, queue=False)
    done = busy.then(train, [page.project, *widgets], [status, page.model_version], concurrency_limit=2)
    for after in (done.then, done.failure):  # Gradio 6.31 skips .then after a failure
        after(lambda: gr.Button(TRAIN, interactive=True), None, button, queue=False)


def listen(st: Studio, page: Page, panel: TrainPanel) -> None:
    project, widgets = page.project, list(panel.settings.values())

    def values_of(s: TrainSettings) -> list:
        d = s.to_dict()
        return [d[f] for f in FIELDS]

    def feature_choices(values: list, p: Project | None) -> list:
        """The settings' values, the Features radio offering only what the project kind can use, the
        augment box naming the kind's copies, and the image-only settings hidden for sounds."""
        allowed = p.kind.feature_kinds() if p is not None else registry.SPECS
        i = FIELDS.index("features")
        values[i] = gr.Radio(choices=[(registry.SPECS[k].title, k) for k in allowed], value=values[i])
        features = values[i]
        if p is not None:
            without = [k for k in allowed if not registry.SPECS[k].copies]
            i = FIELDS.index("augment")
            values[i] = gr.Checkbox(value=values[i], label=f"Add {p.kind.copies}",
                                    info=f"{' and '.join(without)} features train without them" if without else None)
            for field in ("size", "color"):
                i = FIELDS.index(field)
                values[i] = type(panel.settings[field])(value=values[i], visible=p.kind.medium == "image")
        if features in registry.SPECS:
            i = FIELDS.index("model")
            head = MODELS[head_of("auto", features)]
            values[i] = gr.Dropdown(value=values[i], info=f"Automatic here: {head}, which suits {features} features.")
        return values

    @guard
    def on_project(folder: str) -> list:
        p = st.project_or_none(folder)
        if p is None:
            return [*values_of(TrainSettings()), ""]
        return [*feature_choices(values_of(settings_of(p)), p), status(p)]

    project.change(on_project, [project], [*widgets, panel.status])

    def save(folder: str, *values) -> None:
        p = st.project_or_none(folder)
        if p is None:
            return
        try:
            p.set_settings(with_values(p, values).to_dict())
        except StudioError as e:
            gr.Warning(esc(e))

    triggers = [x.blur if isinstance(x, gr.Number) else x.input for x in widgets]
    gr.on(triggers, save, [project, *widgets], None, show_progress="hidden")

    @guard
    def reset(folder: str) -> list:
        p = st.project(folder)
        defaults = TrainSettings(**p.kind.default_settings())
        p.set_settings(defaults.to_dict())
        return values_of(defaults)

    panel.reset.click(reset, [project], widgets)

    def on_preprocessing(name: str | None) -> tuple:
        return preprocessing_text(name), gr.Number(visible=name == "binarize")

    prep = panel.settings["preprocessing"]
    prep.change(on_preprocessing, [prep], [panel.preprocessing_note, panel.settings["threshold"]],
                show_progress="hidden", queue=False)

    chosen = ("model", "preprocessing", "threshold")  # what Compare models' "Use this model" sets

    @guard
    def on_model(folder: str, _version: str) -> list:
        """After a model was trained or kept (Compare models), the model and preprocessing it was
        stored with; the other widgets keep what they show (an edit in progress is not undone)."""
        p = st.project_or_none(folder)
        if p is None:
            return [gr.skip()] * len(chosen)
        d = settings_of(p).to_dict()
        return [d[f] for f in chosen]

    page.model_version.change(on_model, [project, page.model_version], [panel.settings[f] for f in chosen],
                              show_progress="hidden")
    wire_button(st, page, panel.button, panel.status, panel.settings, SEE_HOOD)
