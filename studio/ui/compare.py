"""Compare models, on the studio and sound pages: every estimator (and, if asked, every
preprocessing) fitted on the project's features and scored on the same held-back samples, in one
table sorted best first, with one click to keep one as the project's model; and the learning
curve of the current recipe (held-back accuracy against training samples per class)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from studio.model import compare
from studio.model.settings import HEADS, MODELS, TrainSettings, head_of

from .common import Page, Studio, esc, guard
from .train import model_info, summary

COLUMNS = ["Model", "Preprocessing", "Held-back accuracy", "Macro F1", "Fit (s)", "ms / prediction", "Size"]
COMPARE, COMPARING = "Compare", "Comparing…"
CURVE, CURVING = "Show the learning curve", "Training…"
CURRENT = " (current)"
# What a comparison's figures rest on besides the model and its preprocessing: when a new model
# differs from the compared recipe in any other setting, the table no longer describes it.
OWN = ("model", "preprocessing")


@dataclass(frozen=True)
class ComparePanel:
    """The "Compare models" accordion and the learning curve inside it."""

    box: gr.Accordion
    models: gr.CheckboxGroup
    vary: gr.Checkbox
    run: gr.Button
    cancel: gr.Button
    summary: gr.Markdown
    table: gr.Dataframe
    keep_row: gr.Row
    choice: gr.Dropdown
    use: gr.Button
    curve_btn: gr.Button
    curve: gr.LinePlot
    advice: gr.Markdown
    stop: gr.State  # this browser's threading.Event for the comparison or curve running now
    result: gr.State  # the last comparison: {"comparison": Comparison.to_json(), "recipe": the other
    # settings it rests on, "nouns": what the project's samples are called}


def render() -> ComparePanel:
    with gr.Accordion("Compare models", open=False, elem_id="compare") as box:
        gr.Markdown("Train several models on the same features and score each on the same held-back examples, "
                    "as the course does: the table shows which suits *your* data. Results are kept, so a second "
                    "comparison of unchanged data is instant.")
        models = gr.CheckboxGroup([(f"{MODELS[h]} [{h}]", h) for h in HEADS], value=list(HEADS),
                                  label="Models to compare", elem_id="cmp-models")
        vary = gr.Checkbox(label="Also try every preprocessing (six times as many fits)", elem_id="cmp-vary")
        with gr.Row():
            run = gr.Button(COMPARE, variant="primary", elem_id="cmp-run")
            cancel = gr.Button("Cancel", interactive=False, elem_id="cmp-cancel")
        summary_md = gr.Markdown(elem_id="cmp-summary", min_height=48)
        table = gr.Dataframe(headers=COLUMNS, interactive=False, visible=False, wrap=True, elem_id="cmp-table")
        with gr.Row(visible=False, equal_height=True, elem_id="cmp-keep") as keep_row:
            # allow_custom_value: an update to no choices leaves the old value in the browser (gradio#7859),
            # which Gradio would then refuse; the handlers check the value against the comparison instead.
            choice = gr.Dropdown(label="Keep as the project's model", choices=[], scale=3, elem_id="cmp-choice",
                                 allow_custom_value=True)
            use = gr.Button("Use this model", scale=1, elem_id="cmp-use")
        gr.Markdown("**Learning curve**: held-back accuracy of the current model trained on only a few examples "
                    "per class, then more, then all of them. Still rising at the end? More examples would help.")
        curve_btn = gr.Button(CURVE, size="sm", elem_id="curve-btn")
        curve = gr.LinePlot(x="per class", y="accuracy", y_lim=[0, 1], visible=False, elem_id="curve-plot",
                            x_title="training examples per class", y_title="held-back accuracy",
                            title="Learning curve")
        advice = gr.Markdown(elem_id="curve-advice", min_height=48)
    return ComparePanel(box, models, vary, run, cancel, summary_md, table, keep_row, choice, use, curve_btn,
                        curve, advice, gr.State(None), gr.State(None))


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} B"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def table_of(rows: list[dict], current: tuple[str, str]) -> pd.DataFrame:
    """The comparison's rows (best first) as the page shows them, ``current`` (model,
    preprocessing) marked."""
    out = []
    for r in rows:
        name = f"{MODELS.get(r['model'], r['model'])} [{r['model']}]"
        name += CURRENT * ((r["model"], r["preprocessing"]) == current)
        if r.get("error"):
            out.append([name, r["preprocessing"], f"could not be fitted: {r['error']}", "–", "–", "–", "–"])
            continue
        out.append([name, r["preprocessing"], _pct(r["accuracy"]),
                    "–" if r["macro_f1"] is None else f"{r['macro_f1']:.2f}", f"{r['fit_seconds']:.2f}",
                    f"{r['predict_ms']:.2f}", _size(r["size_bytes"])])
    return pd.DataFrame(out, columns=COLUMNS)


def choices_of(rows: list[dict]) -> list[tuple[str, str]]:
    """The rows that can be kept, as dropdown choices valued "model:preprocessing"."""
    return [(f"{MODELS.get(r['model'], r['model'])} [{r['model']}], {r['preprocessing']}: "
             f"{_pct(r['accuracy'])}", f"{r['model']}:{r['preprocessing']}") for r in rows if not r.get("error")]


def _recipe(settings: dict) -> dict:
    """The settings a comparison rests on besides what it varies."""
    return {k: v for k, v in settings.items() if k not in OWN}


def _current(settings: dict) -> tuple[str, str]:
    return head_of(settings.get("model"), settings.get("features")), settings.get("preprocessing", "standardise")


def listen(st: Studio, page: Page, panel: ComparePanel, status: gr.Markdown, hint: str = "") -> None:
    """``status``: the page's model status line, which says what "Use this model" trained."""
    project = page.project
    shown = [panel.summary, panel.table, panel.keep_row, panel.choice]

    def showing(result: dict | None, current: tuple[str, str], chosen: str | None = None) -> list:
        """The table and the Use choice for ``result`` (None: hidden)."""
        if result is None:
            return ["", gr.Dataframe(visible=False), gr.Row(visible=False), gr.Dropdown(choices=[], value=None)]
        c = result["comparison"]
        rows = c["rows"]
        choices = choices_of(rows)
        values = [v for _, v in choices]
        value = chosen if chosen in values else values[0] if values else None
        done = c["fitted"]
        text = (f"Held back for every model: **{esc(c['held_back'])}**; trained on {c['n_train']} "
                f"{esc(result.get('nouns', 'examples'))}. "
                f"{len(rows)} recipes, best first"
                + (f" ({done} fitted now, the others remembered)." if done < len(rows) else ".")
                + ("" if c["complete"] else " **Cancelled**: only these were compared; Compare goes on from here."))
        return [text, gr.Dataframe(table_of(rows, current), visible=True), gr.Row(visible=bool(choices)),
                gr.Dropdown(choices=choices, value=value)]

    # ---- one job at a time per browser, cancellable -------------------------------------------
    jobs = [panel.run, panel.curve_btn]

    def start(label: str, which: int):
        def job_begins():
            buttons = [gr.Button(label if i == which else None, interactive=False) for i in range(len(jobs))]
            return threading.Event(), *buttons, gr.Button(interactive=True)
        return job_begins

    def job_ends():
        return gr.Button(COMPARE, interactive=True), gr.Button(CURVE, interactive=True), gr.Button(interactive=False)

    def wire(which: int, busy_label: str, fn, inputs: list, outputs: list, progress_on) -> None:
        busy = jobs[which].click(start(busy_label, which), None, [panel.stop, *jobs, panel.cancel], queue=False)
        done = busy.then(fn, inputs, outputs, concurrency_limit=2, show_progress_on=progress_on)
        for after in (done.then, done.failure):  # Gradio 6.31 skips .then after a failure
            after(job_ends, None, [*jobs, panel.cancel], queue=False)

    def cancel_job(event: threading.Event | None):
        if event is not None:
            event.set()
        return gr.Button(interactive=False)

    panel.cancel.click(cancel_job, [panel.stop], [panel.cancel], queue=False)

    # ---- compare --------------------------------------------------------------------------------
    @guard
    def compare_models(folder: str, models: list[str] | None, vary: bool, event: threading.Event | None,
                       chosen: str | None, progress=gr.Progress()) -> list:
        p = st.project(folder)
        if not models:
            raise gr.Error("Tick at least one model to compare.", print_exception=False)
        recipe = _recipe(TrainSettings.from_dict(p.settings()).to_dict())
        progress(0, desc=f"Reading {p.kind.nouns}")
        result = compare.compare(p, models, ["all"] if vary else None, cancel=event,
                                 progress=lambda i, n, msg: progress((i, n), desc=msg))
        kept = {"comparison": result.to_json(), "recipe": recipe, "nouns": p.kind.nouns}
        return [*showing(kept, (result.model, result.preprocessing), chosen), kept]

    wire(0, COMPARING, compare_models, [project, panel.models, panel.vary, panel.stop, panel.choice],
         [*shown, panel.result], [panel.summary])

    # ---- keep one -------------------------------------------------------------------------------
    @guard
    def use_model(folder: str, chosen: str | None, result: dict | None, progress=gr.Progress()) -> tuple[str, str]:
        rows = result["comparison"]["rows"] if result else []
        if chosen not in [v for _, v in choices_of(rows)]:
            raise gr.Error("Compare models first, then choose one of them to keep.", print_exception=False)
        model, _, prep = chosen.partition(":")
        p = st.project(folder)
        progress(0, desc=f"Training {MODELS.get(model, model)}")
        record = compare.use(p, model, prep or None, progress=lambda i, n, msg: progress((i, n), desc=msg))
        gr.Info(f"The project now uses {esc(MODELS.get(model, model))} ({esc(prep)} preprocessing).")
        return summary(record.info(), p.kind) + hint, record.id

    using = panel.use.click(lambda: gr.Button("Training…", interactive=False), None, panel.use, queue=False)
    kept = using.then(use_model, [project, panel.choice, panel.result], [status, page.model_version],
                      concurrency_limit=2)
    for after in (kept.then, kept.failure):
        after(lambda: gr.Button("Use this model", interactive=True), None, panel.use, queue=False)

    # ---- the learning curve ---------------------------------------------------------------------
    @guard
    def show_curve(folder: str, event: threading.Event | None, progress=gr.Progress()) -> tuple:
        p = st.project(folder)
        progress(0, desc=f"Reading {p.kind.nouns}")
        lc = compare.learning_curve(p, cancel=event, progress=lambda i, n, msg: progress((i, n), desc=msg))
        k = max(len(lc.recall), 1)
        points = [pt for pt in lc.points if pt.accuracy is not None]
        frame = pd.DataFrame({"per class": [pt.per_class or round(pt.n_train / k, 1) for pt in points],
                              "accuracy": [pt.accuracy for pt in points]})
        steps = " · ".join(f"{'all' if pt.per_class is None else pt.per_class} per class "
                           f"({pt.n_train} {p.kind.nouns}): **{_pct(pt.accuracy)}**" for pt in lc.points)
        text = (f"`{lc.model}` with `{lc.preprocessing}` preprocessing, tested on {esc(lc.held_back)}: {steps}."
                f"\n\n{esc(lc.advice)}" + ("" if lc.complete else "\n\n**Cancelled** before the end."))
        return gr.LinePlot(frame, visible=bool(points)), text

    wire(1, CURVING, show_curve, [project, panel.stop], [panel.curve, panel.advice], [panel.advice])

    # ---- another project, another model ---------------------------------------------------------
    def on_compare_project(_folder: str) -> list:
        return [*showing(None, ("", "")), None, gr.LinePlot(visible=False), ""]

    project.change(on_compare_project, [project], [*shown, panel.result, panel.curve, panel.advice],
                   show_progress="hidden")

    @guard
    def on_compare_model(folder: str, _version: str, result: dict | None, chosen: str | None) -> list:
        """A new model (trained, or kept here): the table marks it, or is cleared if the model was
        trained with other settings than those compared; the curve was the old model's."""
        info = model_info(st.project_or_none(folder))
        settings = (info or {}).get("settings") or {}
        if result is None or _recipe(settings) != result["recipe"]:
            cleared = ("" if result is None else
                       "The settings changed since the comparison: compare again to see the figures for them.")
            return [cleared, *showing(None, ("", ""))[1:], None, gr.LinePlot(visible=False), ""]
        return [*showing(result, _current(settings), chosen), result, gr.LinePlot(visible=False), ""]

    page.model_version.change(on_compare_model, [project, page.model_version, panel.result, panel.choice],
                              [*shown, panel.result, panel.curve, panel.advice], show_progress="hidden")
