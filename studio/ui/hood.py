"""Under the hood: what the last training measured on the held-back images (accuracy per
class, a confusion matrix whose cells show the images behind them, accuracy and loss per
epoch, the classification report) and "See your data", a PCA map of the samples."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from studio.kinds import Kind
from studio.model import training
from studio.model.metrics import Metrics, Scores
from studio.model.settings import head_of

from .common import Page, Studio, esc, guard
from .predictors import UNTRUSTED
from .train import made_here, model_info, settings_of

# A click on a cell sends its row and column to the server.
CELL_CLICK_JS = """
element.addEventListener('click', (e) => {
  const cell = e.target.closest('.cm-cell');
  if (cell) trigger('click', {row: Number(cell.dataset.row), col: Number(cell.dataset.col)});
});
"""


def empty(nouns: str = "images") -> str:
    """What the hood says while there is no model, in the words of the project's kind."""
    return f"Train a model to see how it does on {nouns} it did not learn from."


@dataclass(frozen=True)
class Hood:
    """The "Under the hood" accordion, on the studio and sound pages."""

    box: gr.Accordion
    summary: gr.Markdown
    matrix: gr.HTML
    cell_note: gr.Markdown
    cell_images: gr.Gallery
    report: gr.Code
    plots: gr.Row
    accuracy: gr.LinePlot
    loss: gr.LinePlot
    see: gr.Button
    scatter: gr.ScatterPlot


def render() -> Hood:
    with gr.Accordion("Under the hood", open=False, elem_id="hood") as box:
        summary = gr.Markdown(empty(), elem_id="hood-summary")
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("**Confusion matrix** (held-back images; rows: true class, columns: predicted). "
                            "Choose a cell to see its images.")
                matrix = gr.HTML("", js_on_load=CELL_CLICK_JS, elem_id="confusion")
                cell_note = gr.Markdown(elem_id="cell-note")
                cell_images = gr.Gallery(show_label=False, columns=6, fit_columns=False, height=160, visible=False,
                                         elem_id="cell-images")
            with gr.Column(scale=1):
                report = gr.Code(label="Classification report", language=None, elem_id="report",
                                 interactive=False)
        with gr.Row(visible=False, elem_id="epoch-plots") as plots:
            accuracy = gr.LinePlot(x="epoch", y="accuracy", color="data", title="Accuracy per epoch",
                                   y_lim=[0, 1], elem_id="accuracy-plot")
            loss = gr.LinePlot(x="epoch", y="loss", color="data", title="Loss per epoch", elem_id="loss-plot")
        gr.Markdown("**See your data**: every image as a point, placed by the two directions along which "
                    "the images differ most (PCA on the features the model uses).")
        see = gr.Button("See your data", size="sm", elem_id="see-data")
        scatter = gr.ScatterPlot(x="x", y="y", color="class", visible=False, elem_id="pca-plot",
                                 x_title="first principal component", y_title="second principal component")
    return Hood(box, summary, matrix, cell_note, cell_images, report, plots, accuracy, loss, see, scatter)


def confusion_html(labels: list[str], cm: list[list[int]], kind: Kind) -> str:
    """The confusion matrix as a heat map; the cells are buttons."""
    if not cm:
        return f"<p>No held-back {kind.nouns}: nothing to show.</p>"
    top = max(max(row) for row in cm) or 1
    head = "".join(f"<th>{esc(lb)}</th>" for lb in labels)
    rows = []
    for i, row in enumerate(cm):
        cells = []
        for j, n in enumerate(row):
            strength = 0.12 + 0.88 * n / top if n else 0.0
            colour = f"rgba(37, 99, 235, {strength:.2f})" if i == j else f"rgba(220, 38, 38, {strength:.2f})"
            ink = "#fff" if strength > 0.55 else "inherit"
            tip = f"{n} {kind.noun}(s) of {labels[i]} predicted as {labels[j]}"
            cells.append(f"<td><button class='cm-cell' data-row='{i}' data-col='{j}' title='{esc(tip)}' "
                         f"style='background:{colour};color:{ink}'>{n}</button></td>")
        rows.append(f"<tr><th>{esc(labels[i])}</th>{''.join(cells)}</tr>")
    return (f"<table class='cm'><tr><th class='corner'>true ↓ / predicted →</th>{head}</tr>"
            f"{''.join(rows)}</table>")


def report_text(report: str, kind: Kind) -> str:
    """scikit-learn's report, its header line starting with a word: the code view strips the
    leading spaces that align it."""
    if not report.strip():
        return f"No held-back {kind.nouns}."
    head, _, rest = report.partition("\n")
    pad = len(head) - len(head.lstrip())
    return "class".ljust(pad) + head.lstrip() + "\n" + rest


def framing(spec: dict) -> str:
    """How the features frame a sample, after a comma: an image's side in pixels, a clip's
    length and rate; "" when the spec says neither (a spec in model.json, as JSON)."""
    if spec.get("size"):
        return f", {spec['size']} px"
    if spec.get("seconds") and spec.get("sr"):
        return f", {spec['seconds']:g} s clips at {spec['sr'] / 1000:g} kHz"
    return ""


def per_class_table(test: Scores) -> str:
    if not test.per_class:
        return ""
    rows = ["| Class | Accuracy | Correct / held back |", "|---|---|---|"]
    for label, pc in test.per_class.items():
        acc = "–" if pc.accuracy is None else f"{pc.accuracy:.0%}"
        rows.append(f"| {esc(label)} | {acc} | {pc.correct} / {pc.n} |")
    return "\n".join(rows)


def history_frames(history: dict[str, list[float]]) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Long-format accuracy and loss per epoch, one series per data set (train, test)."""
    if not history.get("epoch"):
        return None
    frames = []
    for metric in ("accuracy", "loss"):
        parts = [pd.DataFrame({"epoch": history["epoch"], metric: history[f"{part}_{metric}"], "data": part})
                 for part in ("train", "test") if history.get(f"{part}_{metric}")]
        frames.append(pd.concat(parts, ignore_index=True))
    return frames[0], frames[1]


def listen(st: Studio, page: Page, hood: Hood) -> None:
    project, model_version = page.project, page.model_version

    @guard
    def show(folder: str, _version: str) -> list:
        p = st.project_or_none(folder)
        info = model_info(p)
        hidden = [gr.Gallery(visible=False), "", gr.ScatterPlot(visible=False)]
        if not made_here(info):
            text = UNTRUSTED if info is not None else empty(p.kind.nouns) if p is not None else empty()
            return [gr.Accordion(open=False), text, "", "", gr.Row(visible=False), None, None, *hidden]
        kind, nouns = p.kind, p.kind.nouns
        m = Metrics.from_json(info.get("metrics"))
        test, s = m.test, info.get("settings", {})
        text = (f"**Test accuracy {test.accuracy:.0%}** on {esc(m.held_back(kind.noun, nouns))}"
                if test.accuracy is not None else f"**No {nouns} were held back** (too few per class)")
        n_train, n_scored = m.n_train, m.train.n or m.n_train
        sample = f"a sample of {n_scored} of the {n_train} training {nouns}" if n_scored < n_train else \
            f"{n_train} {nouns}"
        size = framing(info["spec"])
        head = head_of(s.get("model"), info["spec"].get("kind"))
        text += (f" · training accuracy {m.train.accuracy or 0:.0%} on {sample} · "
                 f"model `{head}` on `{info['spec'].get('kind')}` features{size}, "
                 f"`{s.get('preprocessing', 'standardise')}` preprocessing"
                 f" · trained {info.get('created', '')[:19].replace('T', ' ')}\n\n{per_class_table(test)}")
        frames = history_frames(m.history)
        plots = [gr.Row(visible=frames is not None), *(frames or (None, None))]
        return [gr.Accordion(open=True), text, confusion_html(info["labels"], test.confusion, kind),
                report_text(test.report, kind), *plots, *hidden]

    gr.on([project.change, model_version.change], show, [project, model_version],
          [hood.box, hood.summary, hood.matrix, hood.report, hood.plots, hood.accuracy, hood.loss,
           hood.cell_images, hood.cell_note, hood.scatter])

    @guard
    def cell(folder: str, evt: gr.EventData):
        p = st.project(folder)
        info = model_info(p)
        if not made_here(info):
            return gr.skip(), gr.skip()
        labels, test = info["labels"], Metrics.from_json(info.get("metrics")).test
        i, j = int(evt.row), int(evt.col)
        label_of = {c.folder: c.label for c in p.classes()}
        paths = []
        for sample, predicted in zip(test.samples, test.predicted):
            sub, _, name = sample.partition("/")
            path = p.path / sub / name
            if label_of.get(sub) == labels[i] and predicted == labels[j] and path.is_file():
                paths.append(str(path))
        note = (f"{len(paths)} held-back {p.kind.noun}(s) of **{esc(labels[i])}** predicted as **{esc(labels[j])}**"
                + ("." if paths else " (none, or they were deleted since)."))
        return gr.Gallery(paths, visible=bool(paths)), note

    hood.matrix.click(cell, [project], [hood.cell_images, hood.cell_note])

    @guard
    def see(folder: str):
        p = st.project(folder)
        data = training.projection(p, settings_of(p))
        frame = pd.DataFrame({"x": data["x"], "y": data["y"], "class": data["label"]})
        return gr.ScatterPlot(frame, visible=True)

    hood.see.click(see, [project], [hood.scatter])
