"""Export: choose formats, export, download the zip, and see how to use the files from Python
(the snippets name exactly the files the export wrote)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.export.bundle import export
from studio.export.formats import DEFAULT_FORMATS, FORMATS
from studio.model import modelfile
from studio.samples import atomic

from .common import Page, Studio, esc, guard


@dataclass(frozen=True)
class ExportPanel:
    """The export column, on the studio and sound pages."""

    formats: gr.CheckboxGroup
    with_images: gr.Checkbox
    button: gr.Button
    download: gr.File
    files: gr.Markdown
    snippet: gr.Code


def render() -> ExportPanel:
    with gr.Column(elem_id="export"):
        gr.Markdown("### Export model")
        formats = gr.CheckboxGroup([(FORMATS[n].title, n) for n in DEFAULT_FORMATS], value=list(DEFAULT_FORMATS),
                                   label="Formats", elem_id="export-formats")
        with_images = gr.Checkbox(False, label=samples_label(), elem_id="export-images")
        button = gr.Button("Export model", elem_id="export-btn")
        download = gr.File(label="Download", visible=False, elem_id="export-file")
        files = gr.Markdown(elem_id="export-files")
        snippet = gr.Code(label="Use it from Python", language="python", visible=False, interactive=False,
                          elem_id="export-snippet")
    return ExportPanel(formats, with_images, button, download, files, snippet)


def samples_label(nouns: str = "images") -> str:
    """The "include the samples" checkbox's label, in the words of the project's kind."""
    return f"Include the training {nouns}"


def listen(st: Studio, page: Page, panel: ExportPanel) -> None:
    outputs = [panel.download, panel.files, panel.snippet]

    @guard
    def run(folder: str, formats: list[str], with_images: bool):
        p = st.project(folder)
        if not formats:
            raise gr.Error("Choose at least one format.", print_exception=False)
        record = modelfile.load(p.model_dir)
        images = [(k.label, k.folder, [s.path for s in p.samples(k.label)]) for k in p.classes()] if with_images \
            else None
        with atomic.on_disk(st.exports):
            result = export(record, st.exports, formats, images)
        listing = ", ".join(f"`{name}`" for name in sorted(x.name for x in result.folder.iterdir()))
        text = f"Exported to `{esc(result.folder)}`: {listing}."
        code = "\n\n".join(f"# ---- {FORMATS[f].title}: {', '.join(result.files[f])} ----\n"
                           f"{FORMATS[f].snippet(record)}" for f in formats if FORMATS[f].snippet(record))
        return gr.File(str(result.zip_path), visible=True), text, gr.Code(code, visible=True)

    panel.button.click(run, [page.project, panel.formats, panel.with_images], outputs, concurrency_limit=2)
    clear = [gr.File(visible=False), "", gr.Code(visible=False)]
    gr.on([page.project.change, page.model_version.change], lambda: clear, None, outputs)

    def kind_words(folder: str) -> tuple[gr.CheckboxGroup, gr.Checkbox]:
        """The formats the project's kind takes, all ticked as ``studio export`` writes them (a pose
        model's web page too), and the samples checkbox in the kind's words."""
        p = st.project_or_none(folder)
        names = p.kind.export_formats if p is not None else DEFAULT_FORMATS
        return (gr.CheckboxGroup([(FORMATS[n].title, n) for n in names], value=list(names)),
                gr.Checkbox(label=samples_label(p.kind.nouns) if p is not None else samples_label()))

    page.project.change(kind_words, [page.project], [panel.formats, panel.with_images], show_progress="hidden")
