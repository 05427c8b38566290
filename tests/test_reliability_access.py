"""Access: ``--auth user:password``, ``STUDIO_AUTH`` (here naming a file of users) protect every
route of the app, files and uploads included; ``--host 0.0.0.0`` warns. Every route the app
has is found by building the app in-process and listing its routes, so a route added by a
later Gradio or a later studio is checked too (or has to be listed below as public, with the
reason). Traffic goes to 127.0.0.1 only."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest
from conftest import ARTIFACTS, ROOT
from helpers import clean_env
from reliability_kit import Server, Session, solid_png, started_together

from studio.kinds import KINDS
from studio.samples.webcam import snapshot_token

pytestmark = pytest.mark.server

USER, PASSWORD = "alice", "wonderland rabbit"
PROJECT = "Zebra secret project"
# Routes that answer without a login, and why that gives nothing away. Anything else must refuse.
PUBLIC = {
    "/login": "the login form's target",
    "/logout": "ends a session",
    "/": "the login page (the app's layout is sent only after login)",
    "/{page}": "the login page, as /",
    "/{page}/": "a redirect to /{page}",
    "/svelte/{path:path}": "Gradio's own front-end files",
    "/static/{path:path}": "Gradio's own front-end files",
    "/assets/{path:path}": "Gradio's own front-end files",
    "/favicon.ico": "Gradio's icon",
    "/theme.css": "the theme's CSS",
    "/gradio_api/theme.css": "the theme's CSS",
    "/robots.txt": "robots.txt",
    "/pwa_icon": "the app icon",
    "/pwa_icon/{size}": "the app icon",
    "/manifest.json": "the web-app manifest (title and icons)",
    "/openapi.json": "FastAPI's route list: names of routes, no data",
    "/gradio_api/user": "who is logged in: nobody",
    "/gradio_api/token": "the caller's own token: none",
    "/gradio_api/app_id": "a random id of this run",
    "/gradio_api/login_check": "says 401",
    "/gradio_api/startup-events": "starts the queue; returns true",
    "/gradio_api/heartbeat/{session_hash}": "keeps a session alive; sends nothing",
    "/gradio_api/cancel": "cancels a session's event (needs its random session id)",
    "/gradio_api/reset": "resets an event (needs its random id)",
    "/gradio_api/stream/{event_id}": "feeds a running event (needs its random id, made after login)",
    "/gradio_api/stream/{event_id}/close": "closes a running event (needs its random id)",
    "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist.m3u8": "media outputs (this app has none)",
    "/gradio_api/stream/{session_hash}/{run}/{component_id}/{segment_id}.{ext}": "media outputs (none here)",
    "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist-file": "media outputs (none here)",
    "/monitoring/{key}": "needs a random key; monitoring is off",
    "/gradio_api/custom_component/{id}/{environment}/{type}/{file_name}": "custom components' code (none here)",
    "/gradio_api/vibe-edit": "vibe mode only (off)",
    "/gradio_api/undo-vibe-edit": "vibe mode only (off)",
    "/gradio_api/vibe-code": "vibe mode only (off)",
}


def app_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of studio's app, built in-process as ``serve`` builds it."""
    import tempfile
    from pathlib import Path

    import gradio as gr

    from studio.samples.store import Store
    from studio.ui import build

    tmp = Path(tempfile.mkdtemp(prefix="studio-routes-"))
    demo = build(Store(tmp / "captures"), tmp / "exported")
    demo.queue()
    app = gr.routes.App.create_app(demo)
    found = []

    def walk(routes):
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif hasattr(r, "path"):
                for method in sorted(getattr(r, "methods", None) or {"GET"}):
                    found.append((method, r.path))

    walk(app.routes)
    return sorted(set(found))


def concrete(path: str, sample: str) -> str:
    """A route's path with its parameters filled in (a real sample where a file is named)."""
    path = path.replace("{path_or_url:path}", sample).replace("{path:path}", sample.lstrip("/"))
    return re.sub(r"\{[^}]+\}", "x", path)


def request(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """(status, body, headers), the path sent exactly as written. The body of an event stream
    (the heartbeat's, say, which never ends) is not waited for."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        r = conn.getresponse()
        streaming = (r.getheader("content-type") or "").startswith("text/event-stream")
        return r.status, b"" if streaming else r.read(), dict(r.getheaders())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two servers started at once: --auth on the command line, and STUDIO_AUTH naming a file."""
    users = tmp_path_factory.mktemp("users") / "users.txt"
    users.write_text("# studio users\nbob:builder\n\ncarol:c0l0n:in:password\n")
    flag = Server(tmp_path_factory.mktemp("auth-flag"), args=["--auth", f"{USER}:{PASSWORD}"])
    env = Server(tmp_path_factory.mktemp("auth-env"), env={"STUDIO_AUTH": str(users)})
    with started_together(flag, env):
        yield flag, env


@pytest.fixture(scope="module")
def sample(servers) -> str:
    """A sample in the --auth server's captures, added by a logged-in user."""
    flag, _ = servers
    s = Session(flag.url, auth=(USER, PASSWORD))
    folder = s.call("create", PROJECT, "photo")[5]
    stream = s.stream()
    stream.send(solid_png((1, 2, 3)), "", snap=snapshot_token("Class_1", 1))
    stream.close()
    s.close()
    (path,) = (flag.captures / folder / "Class_1").iterdir()
    return str(path)


def test_every_route_refuses_without_a_login(servers, sample):
    flag, _ = servers
    data = open(sample, "rb").read()
    routes = app_routes()
    assert ("GET", "/gradio_api/file={path_or_url:path}") in routes and ("POST", "/gradio_api/upload") in routes
    own_pages = {k.page.strip("/") for k in KINDS.values()} - {""}  # sketch, sound, pose
    pages = {p for _, p in routes if p.strip("/") in own_pages}
    answered = {}
    for method, path in routes:
        url = concrete(path, sample)
        status, body, headers = request(flag.port, method, url, b"{}" if method == "POST" else b"",
                                        {"Content-Type": "application/json"} if method == "POST" else {})
        answered[(method, path)] = status
        assert data not in body and PROJECT.encode() not in body and b"rec-target" not in body, \
            f"{method} {url} gave away the app's data without a login"
        key = "/{page}" if path in pages else "/{page}/" if path.rstrip("/") in pages else path.rstrip("/") or "/"
        if key in PUBLIC or path in PUBLIC:
            continue
        # 404: a route this server does not have (e.g. run history, which serve turns off)
        assert status in (401, 403, 404) or (300 <= status < 400 and "login" in headers.get("location", "")), \
            f"{method} {url} answered {status} without a login"
    refused = sum(1 for s in answered.values() if s in (401, 403))
    assert refused >= 20, answered
    (ARTIFACTS / "reliability-routes.json").write_text(json.dumps(
        {f"{m} {p}": s for (m, p), s in sorted(answered.items())}, indent=1))
    # the ones people think of first, explicitly
    for method, url in (("GET", f"/gradio_api/file={sample}"), ("GET", "/config"), ("GET", "/gradio_api/info"),
                        ("POST", "/gradio_api/upload"), ("POST", "/gradio_api/queue/join"),
                        ("GET", "/gradio_api/queue/data?session_hash=x"), ("POST", "/gradio_api/call/create")):
        status, _, _ = request(flag.port, method, url, b"{}" if method == "POST" else b"")
        assert status == 401, (method, url, status)
    files = {"files": ("x.png", solid_png((9, 9, 9)))}
    assert httpx.post(f"{flag.url}gradio_api/upload", files=files).status_code == 401
    assert not list((flag.work / "gradio").rglob("x.png")), "an anonymous upload was stored"


def test_a_login_opens_the_same_routes(servers, sample):
    flag, _ = servers
    with httpx.Client(base_url=flag.url) as http:
        assert http.post("/login", data={"username": USER, "password": "wrong"}).status_code == 400
        assert http.get(f"/gradio_api/file={sample}").status_code == 401
        assert http.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
        r = http.get(f"/gradio_api/file={sample}")
        assert r.status_code == 200 and r.content == open(sample, "rb").read()
        assert http.get("/config").status_code == 200
        assert http.post("/gradio_api/upload", files={"files": ("y.png", solid_png((8, 8, 8)))}).status_code == 200
        assert http.get("/gradio_api/file=/etc/passwd").status_code == 403  # logged in, still only the captures
        big = http.post("/gradio_api/upload", files={"files": ("big.bin", b"\0" * (51 * 2**20))})
        assert big.status_code == 413


def test_studio_auth_names_a_file_of_users(servers):
    _, env = servers
    assert request(env.port, "GET", "/config")[0] == 401
    for user, password in (("bob", "builder"), ("carol", "c0l0n:in:password")):
        with httpx.Client(base_url=env.url) as http:
            assert http.post("/login", data={"username": user, "password": password}).status_code == 200, user
            assert http.get("/config").status_code == 200
    with httpx.Client(base_url=env.url) as http:
        for user, password in (("bob", "wrong"), ("# studio users", ""), ("alice", PASSWORD)):
            assert http.post("/login", data={"username": user, "password": password}).status_code in (400, 422)
        assert http.get("/config").status_code == 401


def first_stderr_line(args: list[str], tmp_path, timeout: float = 60) -> str:
    """Start ``serve`` with ``args`` and return its first line on stderr, then kill it at once:
    the warning comes before the app is built, so nothing is ever listening."""
    proc = subprocess.Popen([sys.executable, "-m", "studio", "--captures", str(tmp_path / "captures"), "serve",
                             "--exports", str(tmp_path / "exported"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=clean_env(GRADIO_TEMP_DIR=str(tmp_path / "gradio")))
    try:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(proc.stderr.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return result[0] if result else ""
    finally:
        proc.kill()  # only the process started here
        proc.wait()


def test_host_0_0_0_0_warns_and_a_bad_auth_value_is_refused(tmp_path):
    t0 = time.time()
    line = first_stderr_line(["--host", "0.0.0.0", "--port", "9"], tmp_path)
    assert line.startswith("Warning: serving on 0.0.0.0") and "--auth" in line, line
    line = first_stderr_line(["--host", "0.0.0.0", "--port", "9", "--auth", "u:p"], tmp_path)
    assert line.startswith("Warning: serving on 0.0.0.0") and "protect it" not in line, line
    line = first_stderr_line(["--auth", "no-colon-here", "--port", "9"], tmp_path)
    assert line.startswith("studio: error:") and "user:password" in line, line
    assert time.time() - t0 < 60
