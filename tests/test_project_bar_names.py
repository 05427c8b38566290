"""The project bar's file names: an opened file's project name, a saved project's file name."""

from __future__ import annotations

from studio.samples.names import MAX_NAME
from studio.ui.project_bar import file_name, free_name


def test_an_opened_file_gets_a_free_project_name(store):
    assert free_name(store, "Rock paper.tm") == "Rock paper"
    store.create("Rock paper")
    assert free_name(store, "rock PAPER.tm") == "rock PAPER (2)"  # names compare case-insensitively
    store.create("rock paper (2)")
    assert free_name(store, "Rock paper.zip") == "Rock paper (3)"
    assert free_name(store, "  many   spaces .zip") == "many spaces"
    assert free_name(store, ".tm") == "tm"
    assert free_name(store, "  .zip") == "Opened project"
    long = "x" * 80
    store.create(long[:MAX_NAME])
    taken = free_name(store, long + ".zip")
    assert taken.endswith(" (2)") and len(taken) == MAX_NAME


def test_a_saved_file_is_named_after_its_project():
    assert file_name("Rock paper", ".tm") == "Rock paper.tm"  # opened again, it keeps its name
    assert file_name("a/b: c", ".zip") == "a_b_c.zip"
    assert file_name(".hidden", ".tm") == "hidden.tm"
