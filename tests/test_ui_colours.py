"""Class colours: each class's live bar is coloured by a rule naming its label, which must stay a
CSS string whatever the label holds (quotes, backslashes, "</style>")."""

from __future__ import annotations

import re

from studio.samples.store import Store
from studio.ui import colours


def test_each_class_gets_its_places_colour_on_its_bar(tmp_path):
    p = Store(tmp_path).create("Hands", classes=["rock", "paper", "scissors"])
    rules = colours.bar_rules(p)
    for i, label in enumerate(["rock", "paper", "scissors"]):
        assert f'[data-testid="{label}-confidence-set"] {{ --stat-background-fill: {colours.PALETTE[i]}; }}' in rules
    assert colours.bar_rules(None) == ""


def test_a_label_cannot_escape_its_rule(tmp_path):
    p = Store(tmp_path).create("Odd", classes=['say "hi"\\', "</style><script>alert(1)</script>"])
    rules = colours.bar_rules(p)
    inner = rules.removeprefix("<style>").removesuffix("</style>")
    assert "<" not in inner and ">" not in inner
    strings = re.findall(r'"((?:[^"\\]|\\[0-9a-f]+ )*)"', inner)  # every quoted string is whole
    assert len(strings) == 2 and inner.count('"') == 4


def test_cards_cycle_through_the_palette():
    n = len(colours.PALETTE)
    assert colours.card_classes(0) == ["class-card", "colour-0"]
    assert colours.card_classes(n + 1) == ["class-card", "colour-1"]
    assert all(f".class-card.colour-{k} " in colours.CARD_CSS for k in range(n))
