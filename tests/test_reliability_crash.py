"""Crash safety: the server is killed with SIGKILL (no clean-up runs, as in a power cut or the
out-of-memory killer) while a user records a burst of frames, another changes settings and a
third trains; then again at the moment a new model file is being written. After each restart
the projects open, every stored image decodes completely, every frame the server had
acknowledged is on disk, project.json is valid, and the previous model still predicts."""

from __future__ import annotations

import json
import os
import queue
import threading
import time

import pytest
from conftest import ARTIFACTS
from reliability_kit import Server, Session, check_store, frames_saved, solid_png

from studio.model.predictor import Predictor
from studio.samples.store import Store

pytestmark = pytest.mark.server

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("reliability-crash")).start()
    yield srv
    srv.stop()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "reliability-crash-server.log").write_text(srv.log())


@pytest.fixture(scope="module")
def steady(server):
    """A trained project (red in Class 1, blue in Class 2): the model that must survive."""
    s = Session(server.url)
    folder = s.call("create", "Steady", "photo")[5]
    for target, colour in (("Class_1", RED), ("Class_2", BLUE)):
        stream = s.stream()
        for _ in range(10):
            stream.send(solid_png(colour), target)
        stream.send(solid_png(colour), "")
        stream.close()
    status, _ = s.call("train", "knn", *[None] * 12)
    assert "test accuracy" in status, status
    s.close()
    project = Store(server.captures).project("Steady")
    predictor = Predictor.from_project(project)
    before = {c: predictor.predict(solid_png(c)) for c in (RED, BLUE)}
    return folder, predictor.info["id"], before


def burst(server, folder: str, acknowledged: list, stop: threading.Event) -> None:
    """Hold-to-record into ``folder``'s Class 1 until the server dies; ``acknowledged`` gets
    the server's running count after each frame."""
    try:
        s = Session(server.url, timeout=10)
        s.call("on_load", folder)
        stream = s.stream()
        while not stop.is_set():
            acknowledged.append(frames_saved(stream.send(solid_png(GREEN), "Class_1")[2]))
    except Exception:  # the kill ends the stream mid-frame
        pass


def settings_churn(server, folder: str, stop: threading.Event) -> None:
    """Another window changing a setting again and again: project.json is rewritten meanwhile."""
    k = 1
    try:
        s = Session(server.url, timeout=10)
        s.call("on_load", folder)
        while not stop.is_set():
            s.call("save", *[None] * 12, k)
            k = k % 20 + 1
    except Exception:  # the kill
        pass


def start_training(server, folder: str, epochs: int) -> tuple[Session, queue.Queue]:
    """Train ``folder`` as an MLP for ``epochs`` epochs, without waiting: its message queue."""
    s = Session(server.url, timeout=10)
    s.call("on_load", folder)
    _, messages = s.submit("train", "mlp", *[None] * 6, epochs, *[None] * 5)
    return s, messages


def wait_for_epoch(messages: queue.Queue, epoch: int, timeout: float = 60) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = messages.get(timeout=max(0.1, deadline - time.time()))
        if msg.get("msg") == "progress":
            desc = (msg.get("progress_data") or [{}])[0].get("desc") or ""
            if desc.startswith("Training epoch") and int(desc.split()[2].split("/")[0]) >= epoch:
                return desc
        assert msg.get("msg") != "process_completed", f"training ended before the kill: {msg}"
    raise TimeoutError(f"no epoch {epoch} in {timeout} s")


def survived(server, steady, burst_folder: str | None, acknowledged: list[int]) -> dict:
    """After a restart: what the disk and the server say; fails if anything was lost or torn."""
    folder, model_id, before = steady
    found = check_store(server.captures)  # every project.json parses, every sample decodes
    store = Store(server.captures)
    for p in store.projects():
        p.classes()  # opens
    steady_project = store.project("Steady")
    predictor = Predictor.from_project(steady_project)
    figures = {"leftover_temporary_files": len(found.temporary), "model": predictor.info["id"]}
    if predictor.info["id"] == model_id:
        assert {c: predictor.predict(solid_png(c)) for c in (RED, BLUE)} == before, "the previous model changed"
    else:  # the new model had been saved whole just before the kill: it must be complete and work
        assert predictor.info["settings"]["model"] == "mlp"
        figures["model"] = "the new one (saved whole before the kill)"
    # the restarted server opens the project and predicts with its model
    s = Session(server.url)
    s.call("on_load", folder)
    (result,) = s.call("on_test", s.upload(solid_png(RED), "red.png"))
    assert result["label"] == "Class 1", result
    if burst_folder is not None:
        stored = found.projects[burst_folder]["Class_1"]
        confirmed = max((n for n in acknowledged if n), default=0)
        assert confirmed >= 5, f"the burst had not started before the kill: {acknowledged}"
        assert len(stored) >= confirmed, f"{confirmed} frames acknowledged, {len(stored)} on disk"
        assert len(stored) <= len(acknowledged) + 1 and set(stored) <= {GREEN}
        figures.update(burst_acknowledged=confirmed, burst_on_disk=len(stored))
        s.call("on_load", burst_folder)
        stream = s.stream()  # and recording into it works again
        assert "1 image" in stream.send(solid_png(GREEN), "Class_1")[2]
        stream.send(solid_png(GREEN), "")
        stream.close()
    s.close()
    return figures


def test_sigkill_during_a_burst_settings_changes_and_training(server, steady):
    setup = Session(server.url)
    burst_folder = setup.call("create", "Burst", "photo")[5]
    setup.close()
    acknowledged: list = []
    stop = threading.Event()
    trainer, messages = start_training(server, steady[0], epochs=1000)
    workers = [threading.Thread(target=burst, args=(server, burst_folder, acknowledged, stop), daemon=True),
               threading.Thread(target=settings_churn, args=(server, burst_folder, stop), daemon=True)]
    for w in workers:
        w.start()
    at = wait_for_epoch(messages, 3)
    deadline = time.time() + 30
    while sum(1 for n in acknowledged if n) < 10 and time.time() < deadline:
        time.sleep(0.02)  # the test's own loop: wait until the burst is under way
    server.kill()
    stop.set()
    for w in workers:
        w.join(timeout=15)
    trainer.close()
    server.start()
    figures = survived(server, steady, burst_folder, acknowledged)
    figures["killed_at"] = at
    (ARTIFACTS / "reliability-crash-1.json").write_text(json.dumps(figures, indent=1))


def test_sigkill_while_the_new_model_is_written(server, steady):
    """Killed the moment a new file appears in the model folder: the save of the new model has
    begun (its temporary file, or the file itself, before or after the pointer switch)."""
    model_dir = server.captures / steady[0] / "model"
    files = set(os.listdir(model_dir))
    trainer, messages = start_training(server, steady[0], epochs=60)
    seen, deadline = None, time.time() + 120
    while seen is None and time.time() < deadline:
        new = set(os.listdir(model_dir)) - files
        seen = sorted(new) if new else None
        time.sleep(0.0005)  # poll the folder about every millisecond
    server.kill()
    assert seen, "no model file was written"
    trainer.close()
    # temporary files of writes cut short, as if the crash had been an hour ago, and one as young
    # as a write in progress (another studio process's): the restart removes only the old ones
    stale = server.captures / steady[0] / "Class_1" / ".tmp-cut-short"
    stale.write_bytes(b"half a png")
    hour_ago = time.time() - 3600
    old = [*server.captures.rglob(".tmp-*")]
    for path in old:
        os.utime(path, (hour_ago, hour_ago))
    young = server.captures / steady[0] / ".tmp-being-written"
    young.write_bytes(b"{")
    server.start()
    assert not any(path.exists() for path in old) and young.exists()
    assert f"removed {len(old)} unfinished temporary file" in server.log()
    young.unlink()
    figures = survived(server, steady, None, [])
    figures["killed_when"] = seen
    figures["temporary_files_swept_at_restart"] = len(old)
    (ARTIFACTS / "reliability-crash-2.json").write_text(json.dumps(figures, indent=1))
