"""Names users type, and the folder names derived from them."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.errors import InvalidName
from studio.samples.names import MAX_NAME, check_name, folder_for


@pytest.mark.parametrize("text", ["마스크", "Class 1", "  padded  ", "a", "x" * MAX_NAME, "Ünïcødé ✓", "a/b", ".."])
def test_check_name_accepts_any_visible_text(text):
    assert check_name(text) == text.strip()


@pytest.mark.parametrize("text, says", [
    ("", "empty"), ("   ", "empty"), ("x" * (MAX_NAME + 1), "65 characters"), ("tab\there", "control"),
    ("new\nline", "control"), (None, "must be text"), (3, "must be text"),
])
def test_check_name_refuses_with_a_reason(text, says):
    with pytest.raises(InvalidName, match=says):
        check_name(text, "class name")


@pytest.mark.parametrize("name, expected", [
    ("마스크", "마스크"), ("Class 1", "Class_1"), ("rock", "rock"), ("a/b", "a_b"), ("a\\b", "a_b"),
    ("..", "item"), (".", "item"), ("../../etc", "etc"), (".hidden", "hidden"), ("🙂", "item"), ("a:b*c?", "a_b_c"),
])
def test_folder_for_is_safe(name, expected):
    assert folder_for(name) == expected


def test_folder_for_avoids_collisions_case_insensitively():
    assert folder_for("Rock", {"rock"}) == "Rock-2"
    assert folder_for("rock", {"rock", "ROCK-2"}) == "rock-3"
    assert folder_for("a/b", {"a_b"}) == "a_b-2"
    assert folder_for("Model", {"model"}) == "Model-2"


def test_folder_for_keeps_long_names_short():
    assert len(folder_for("가" * MAX_NAME).encode("utf-8")) < 255
    assert len(folder_for("x" * MAX_NAME)) <= 48


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=MAX_NAME), min_size=1, max_size=8))
def test_folder_names_never_escape_or_collide(names):
    taken: set[str] = set()
    for name in names:
        folder = folder_for(name, taken)
        assert folder not in ("", ".", "..")
        assert "/" not in folder and "\\" not in folder and "\x00" not in folder
        assert not folder.startswith(".")
        assert folder.casefold() not in {t.casefold() for t in taken}
        assert folder == unicodedata.normalize("NFC", folder)
        taken.add(folder)
