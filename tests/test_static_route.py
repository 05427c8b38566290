"""``/studio-static/``: the browser files of the pose page (studio's pose script, MediaPipe Pose,
onnxruntime-web) served by the app itself with the right types, nothing else under the folder,
no way out of it, and nothing at all without signing in when the app has --auth. The path rules
are checked in-process on a folder of their own; the route on a real server in a subprocess."""

from __future__ import annotations

import http.client
import http.cookiejar
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

from studio.ui import static_files
from studio.ui.static_files import MEDIA_TYPES, STATIC, pose_files_missing, resolve

USER, PASSWORD = "ann", "secret"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A static folder like studio's: served files, a package file, a hidden one, a secret outside."""
    for rel in ("pose/studio-pose.js", "node_modules/@mediapipe/pose/pose.js",
                "node_modules/@mediapipe/pose/pose_landmark_lite.tflite", "node_modules/@mediapipe/pose/package.json",
                "node_modules/@mediapipe/pose/.hidden.js", "node_modules/onnxruntime-web/dist/ort.min.mjs",
                "node_modules/onnxruntime-web/package.json", "node_modules/.bin/tool.js", "package.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path.parent / "secret.js").write_text("secret")
    return tmp_path


def test_only_the_served_folders_and_types(root):
    assert resolve("pose/studio-pose.js", root) == (root / "pose/studio-pose.js").resolve()
    assert resolve("node_modules/@mediapipe/pose/pose_landmark_lite.tflite", root) is not None
    assert resolve("node_modules/onnxruntime-web/dist/ort.min.mjs", root) is not None
    for path in ("package.json", "node_modules/.bin/tool.js", "node_modules/onnxruntime-web/package.json",
                 "node_modules/@mediapipe/pose/package.json",  # .json is served, but not from this folder...
                 "node_modules/@mediapipe/pose/.hidden.js", "pose", "pose/", "node_modules/@mediapipe/pose",
                 "pose/missing.js", ""):
        assert resolve(path, root) is None, path


def test_no_way_out(root):
    (root / "pose" / "link.js").symlink_to(root.parent / "secret.js")
    (root / "pose" / "dir").symlink_to(root.parent, target_is_directory=True)
    for path in ("pose/../package.json", "pose/../../secret.js", "../secret.js", "/etc/passwd", "pose/link.js",
                 "pose/dir/secret.js", "pose\\..\\package.json",
                 "pose/studio-pose.js\0.png"):
        assert resolve(path, root) is None, path


def test_missing_files_are_noticed(root, tmp_path):
    assert not pose_files_missing(root)
    assert pose_files_missing(tmp_path / "nowhere")
    assert "make run" in static_files.MISSING and "npm" in static_files.MISSING


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if pose_files_missing():
        pytest.skip(f"needs MediaPipe Pose in {STATIC / 'node_modules'} (make installs it with npm)")
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from browser_kit import Server

    srv = Server(tmp_path_factory.mktemp("static"), env={"STUDIO_AUTH": f"{USER}:{PASSWORD}"}).start()
    yield srv
    srv.stop()


def signed_in(server) -> tuple[urllib.request.OpenerDirector, str]:
    """An opener that has signed in, and its cookies as a Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
    opener.open(server.url + "login", data=login, timeout=10)
    return opener, "; ".join(f"{c.name}={c.value}" for c in jar)


def raw_get(server, path: str, cookie: str = "") -> int:
    """The status of GET ``path`` sent as is (urllib would resolve the dots first)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.mark.server
def test_served_with_their_types_after_signing_in(server):
    opener, _ = signed_in(server)
    for path, kind in (("pose/studio-pose.js", ".js"), ("node_modules/@mediapipe/pose/pose.js", ".js"),
                       ("node_modules/@mediapipe/pose/pose_solution_simd_wasm_bin.wasm", ".wasm"),
                       ("node_modules/@mediapipe/pose/pose_solution_packed_assets.data", ".data"),
                       ("node_modules/@mediapipe/pose/pose_landmark_lite.tflite", ".tflite"),
                       ("node_modules/@mediapipe/pose/pose_web.binarypb", ".binarypb")):
        with opener.open(f"{server.url}studio-static/{path}", timeout=30) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == MEDIA_TYPES[kind], path
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.read() == (STATIC / path).read_bytes()
    with opener.open(f"{server.url}studio-static/pose/studio-pose.js", timeout=10) as r:
        etag = r.headers["ETag"]
    again = urllib.request.Request(f"{server.url}studio-static/pose/studio-pose.js", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as e:  # urllib raises on 304: the browser keeps its copy
        opener.open(again, timeout=10)
    assert e.value.code == 304


@pytest.mark.server
def test_refused_without_signing_in(server):
    for path in ("pose/studio-pose.js", "node_modules/@mediapipe/pose/pose_landmark_lite.tflite"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{server.url}studio-static/{path}", timeout=10)
        assert e.value.code == 401, path
    assert raw_get(server, "/studio-static/pose/studio-pose.js", cookie="access-token-x=forged") == 401


@pytest.mark.server
def test_nothing_else_and_no_way_out(server):
    _, cookie = signed_in(server)
    assert raw_get(server, "/studio-static/pose/studio-pose.js", cookie) == 200
    for path in ("package.json", "package-lock.json", "pose/", "node_modules/@mediapipe/pose/",
                 "node_modules/@mediapipe/pose/package.json", "node_modules/onnxruntime-web/package.json",
                 "pose/../../__init__.py", "pose/%2e%2e/%2e%2e/__init__.py", "pose/..%2f..%2f__init__.py",
                 "node_modules/.package-lock.json", ""):
        assert raw_get(server, f"/studio-static/{path}", cookie) == 404, path
