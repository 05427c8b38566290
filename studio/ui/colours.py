"""Each class's own colour, as Teachable Machine gives it: on its card's edge and on its live bar.

A class takes the colour of its place in the project (the first class orange, the second pink, ...),
so a card and its bar match on every page. Gradio's Label sorts its bars by confidence and paints
them all alike; each bar carries its label in ``data-testid``, which a rule per class can colour.
"""

from __future__ import annotations

import gradio as gr

from studio.samples.store import Project

PALETTE = ("#e8710a", "#f538a0", "#a142f4", "#1a73e8", "#12b5cb",
           "#1e8e3e", "#f9ab00", "#d93025", "#795548", "#607d8b")

CARD_CSS = "\n".join(f".class-card.colour-{k} {{ border-left: 6px solid {c} !important; }}"
                     for k, c in enumerate(PALETTE))


def card_classes(i: int) -> list[str]:
    """The elem_classes of the i-th class's card."""
    return ["class-card", f"colour-{i % len(PALETTE)}"]


def css_string(text: str) -> str:
    """``text`` as a double-quoted CSS string that cannot end the string or the <style> element."""
    escaped = "".join(c if c.isalnum() or c in " _-.,()'" else f"\\{ord(c):x} " for c in text)
    return f'"{escaped}"'


def bar_rules(p: Project | None) -> str:
    """A <style> giving each class's live bar its colour ("" without a project)."""
    if p is None:
        return ""
    rules = (f"[data-testid={css_string(f'{k.label}-confidence-set')}] {{ --stat-background-fill: "
             f"{PALETTE[i % len(PALETTE)]}; }}" for i, k in enumerate(p.classes()))
    return f"<style>{' '.join(rules)}</style>"


def render_bar_rules(p: Project | None) -> None:
    """The rules, in an offstage block (inside a page's ``gr.render`` of its cards)."""
    gr.HTML(bar_rules(p), elem_classes="offstage")
