"""What the reliability tests of the real server share: a browser-less client that speaks
Gradio's own wire protocol (the one the page uses: ``queue/join``, the per-session event
stream, and ``stream/<event>`` for the webcam's frames), solid-colour frames whose colour
names the session that sent them, and checks of a project store on disk.

``gradio_client`` cannot drive the webcam stream (it does not know the ``process_streaming``
message), so this client sends frames exactly as the page does: the first one joins the
queue, every further one is posted to the running event, and each is answered before the
next is sent (as the page waits for an answer before it sends the next frame).
"""

from __future__ import annotations

import io
import json
import queue
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from browser.browser_kit import Server  # the browser tier's server subprocess, reused
from PIL import Image

__all__ = ["Server", "Session", "GradioError", "solid_png", "colour_of", "check_store", "frames_saved"]


class GradioError(RuntimeError):
    """The server answered an event with an error; ``message`` is what the page would show."""

    def __init__(self, message: str | None, payload: dict):
        super().__init__(message or f"error without a message: {payload}")
        self.message = message
        self.payload = payload


class Session:
    """One browser session's worth of calls, by endpoint name, over HTTP."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, timeout: float = 60):
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        if auth:
            r = self.http.post("/login", data={"username": auth[0], "password": auth[1]})
            r.raise_for_status()
        self.session_hash = secrets.token_hex(8)
        config = self.http.get("/config")
        config.raise_for_status()
        config = config.json()
        self.types = {c["id"]: c["type"] for c in config["components"]}
        self.deps = {d["api_name"]: d for d in config["dependencies"] if d.get("api_name")}
        self._events: dict[str, queue.Queue] = {}
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self.timeout = timeout

    def close(self) -> None:
        self.http.close()

    # ---- the event stream -------------------------------------------------------------------
    def _read(self) -> None:
        """Read the session's event stream until the server closes it (no events left)."""
        while True:
            try:
                with self.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session_hash},
                                      timeout=httpx.Timeout(self.timeout, read=None)) as r:
                    if r.status_code != 200:
                        raise httpx.HTTPError(f"the event stream answered {r.status_code}")
                    for line in r.iter_lines():
                        if not line.startswith("data:"):
                            continue
                        msg = json.loads(line[5:])
                        target = self._events.get(msg.get("event_id") or "")
                        if target is not None:
                            target.put(msg)
                        elif msg.get("msg") == "unexpected_error":
                            for q in list(self._events.values()):
                                q.put(msg)
            except httpx.HTTPError as e:  # the server went away: every waiting call hears of it
                with self._lock:
                    for q in self._events.values():
                        q.put({"msg": "unexpected_error", "message": f"connection lost: {e}"})
                    self._events.clear()
                    self._reader = None
                    return
            with self._lock:
                if not self._events:
                    self._reader = None
                    return

    def _join(self, api_name: str, values: dict) -> str:
        dep = self.deps[api_name]
        data = []
        for cid in dep["inputs"]:
            data.append(values.get(cid))
        r = self.http.post("/gradio_api/queue/join", json={
            "data": data, "fn_index": dep["id"], "trigger_id": None, "session_hash": self.session_hash,
            "event_data": None})
        r.raise_for_status()
        event_id = r.json()["event_id"]
        with self._lock:
            self._events[event_id] = queue.Queue()
            if self._reader is None:
                self._reader = threading.Thread(target=self._read, daemon=True)
                self._reader.start()
        return event_id

    def _args(self, api_name: str, args: tuple) -> dict:
        """Positional arguments for the endpoint's inputs that are not session state."""
        dep = self.deps[api_name]
        ids = [cid for cid in dep["inputs"] if self.types[cid] != "state"]
        if len(args) != len(ids):
            raise TypeError(f"{api_name} takes {len(ids)} values ({[self.types[i] for i in ids]}); got {len(args)}")
        return dict(zip(ids, args))

    def _next(self, event_id: str, until: tuple[str, ...]) -> dict:
        q = self._events[event_id]
        while True:
            try:
                msg = q.get(timeout=self.timeout)
            except queue.Empty:
                raise TimeoutError(f"no answer to event {event_id} in {self.timeout} s") from None
            kind = msg.get("msg")
            if kind == "unexpected_error":
                raise GradioError(msg.get("message"), msg)
            if kind in until:
                return msg

    def _done(self, event_id: str) -> None:
        with self._lock:
            self._events.pop(event_id, None)

    @staticmethod
    def _result(msg: dict) -> list:
        output = msg.get("output") or {}
        if msg.get("success") is False:
            raise GradioError(output.get("error"), msg)
        return output.get("data", [])

    def call(self, api_name: str, *args, progress: list | None = None) -> list:
        """Run an endpoint to its end; its outputs (``progress`` collects progress messages)."""
        event_id = self._join(api_name, self._args(api_name, args))
        try:
            while True:
                msg = self._next(event_id, ("process_completed", "progress"))
                if msg["msg"] == "progress":
                    if progress is not None:
                        progress.append(msg)
                    continue
                return self._result(msg)
        finally:
            self._done(event_id)

    def submit(self, api_name: str, *args) -> tuple[str, queue.Queue]:
        """Start an endpoint without waiting: its event id and the queue of its messages."""
        event_id = self._join(api_name, self._args(api_name, args))
        return event_id, self._events[event_id]

    # ---- files and the webcam stream ----------------------------------------------------------
    def upload(self, data: bytes, name: str) -> dict:
        r = self.http.post("/gradio_api/upload", files=[("files", (name, data))])
        r.raise_for_status()
        return {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def stream(self, api_name: str = "on_frame") -> Stream:
        return Stream(self, api_name)


class Stream:
    """The webcam stream of one page: ``send`` one frame (with the page's other inputs) and
    wait for its answer; ``close`` stops the camera."""

    def __init__(self, session: Session, api_name: str):
        self.s, self.api_name, self.event_id = session, api_name, None

    def send(self, frame: bytes, target: str, mirror: bool = True, snap: str = "") -> list:
        """One frame, with the class folder whose button is held ("" for none), the "Mirror" box
        and the latest Snapshot token (``studio.samples.webcam.snapshot_token``; "" for none)."""
        s = self.s
        values = s._args(self.api_name, (s.upload(frame, "frame.png"), target, snap, mirror))
        if self.event_id is None:
            self.event_id = s._join(self.api_name, values)
        else:
            dep = s.deps[self.api_name]
            r = s.http.post(f"/gradio_api/stream/{self.event_id}", json={
                "data": [values.get(cid) for cid in dep["inputs"]], "fn_index": dep["id"],
                "session_hash": s.session_hash, "event_data": None, "trigger_id": None})
            r.raise_for_status()
        try:
            msg = s._next(self.event_id, ("process_streaming", "process_completed"))
        except BaseException:
            s._done(self.event_id)
            self.event_id = None
            raise
        if msg["msg"] == "process_completed":  # the event ended (an error ends it too)
            s._done(self.event_id)
            self.event_id = None
        return s._result(msg)

    def close(self) -> None:
        if self.event_id is None:
            return
        self.s.http.post(f"/gradio_api/stream/{self.event_id}/close")
        try:
            self.s._next(self.event_id, ("process_completed",))
        except (TimeoutError, GradioError):
            pass
        finally:
            self.s._done(self.event_id)
            self.event_id = None


# ---- frames and the store on disk ------------------------------------------------------------
def solid_png(rgb: tuple[int, int, int], size: tuple[int, int] = (160, 120)) -> bytes:
    """A frame of one colour; its colour tells which session (or which moment) sent it."""
    buf = io.BytesIO()
    Image.new("RGB", size, rgb).save(buf, format="PNG")
    return buf.getvalue()


def colour_of(path: Path) -> tuple[int, int, int]:
    """The colour of a stored solid frame (decoding it completely: a torn file fails here)."""
    with Image.open(path) as img:
        img.load()
        arr = np.asarray(img.convert("RGB")).reshape(-1, 3)
    return tuple(int(v) for v in np.median(arr, axis=0))


@dataclass
class StoreCheck:
    """What a store holds: per project folder, per class folder, the colours of its images."""

    projects: dict[str, dict[str, list[tuple[int, int, int]]]]
    temporary: list[Path]


def check_store(root: Path) -> StoreCheck:
    """Every project.json parses with its classes, every visible sample decodes completely;
    leftover temporary files (a crash's) are listed, not counted as samples."""
    out: dict[str, dict[str, list]] = {}
    temporary = [p for p in root.rglob(".tmp-*")]
    for meta_path in sorted(root.glob("*/project.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        assert isinstance(meta.get("classes"), list) and meta.get("name"), f"{meta_path}: {meta}"
        project = {}
        for c in meta["classes"]:
            folder = meta_path.parent / c["folder"]
            assert folder.is_dir(), f"{folder} (class {c['label']!r}) is missing"
            project[c["folder"]] = [colour_of(p) for p in sorted(folder.iterdir())
                                    if not p.name.startswith(".")]
        out[meta_path.parent.name] = project
    return StoreCheck(out, temporary)


def frames_saved(status: str) -> int | None:
    """The running count in the recording status ("● Recording into **X**: 12 images")."""
    m = re.search(r"Recording into .*?: (\d+) image", status or "")
    return int(m.group(1)) if m else None


@contextmanager
def started_together(*servers: Server) -> Iterator[None]:
    """Start ``servers`` at once (each takes 10-14 s here), and stop them all afterwards."""
    errors: list[Exception] = []

    def start(srv: Server) -> None:
        try:
            srv.start()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        if errors:
            raise errors[0]
        yield
    finally:
        for srv in servers:
            srv.stop()
