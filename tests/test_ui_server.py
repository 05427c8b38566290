"""``studio serve``: auth parsing, the exposure warning, gradio kept out of the core, and
(in a subprocess) that --auth really protects the app."""

from __future__ import annotations

import http.cookiejar
import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from studio.errors import StudioError
from studio.server import exposure_warning, read_auth

ROOT = Path(__file__).resolve().parents[1]


def test_auth_from_argument_and_file(tmp_path):
    assert read_auth(None) is None
    assert read_auth("ann:secret") == [("ann", "secret")]
    assert read_auth("ann:pa:ss") == [("ann", "pa:ss")]
    f = tmp_path / "users.txt"
    f.write_text("# who may use studio\nann:one\n\nbob:two\n", encoding="utf-8")
    assert read_auth(str(f)) == [("ann", "one"), ("bob", "two")]


@pytest.mark.parametrize("value", ["nocolon", ":nouser", "nopassword:"])
def test_bad_auth_is_refused(value):
    with pytest.raises(StudioError, match="user:password"):
        read_auth(value)


def test_empty_auth_file_is_refused(tmp_path):
    f = tmp_path / "users.txt"
    f.write_text("# nobody\n", encoding="utf-8")
    with pytest.raises(StudioError, match="no user:password"):
        read_auth(str(f))


def test_exposure_warning():
    assert exposure_warning("127.0.0.1", 7860, None) is None
    assert "--auth" in exposure_warning("0.0.0.0", 7860, None)
    assert "--auth" not in exposure_warning("0.0.0.0", 7860, [("a", "b")])


def test_core_never_imports_gradio():
    code = ("import sys, studio.cli, studio.samples.store, studio.model.training, studio.model.predictor, "
            "studio.export.bundle, studio.samples.transfer, studio.server; "
            "assert 'gradio' not in sys.modules, 'gradio was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_bad_auth_is_one_line_before_gradio_loads(tmp_path):
    r = subprocess.run([sys.executable, "-m", "studio", "--captures", str(tmp_path), "serve", "--auth", "nocolon"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("studio: error:") and "Traceback" not in r.stderr


@pytest.mark.server
def test_auth_protects_the_app(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from browser_kit import Server

    server = Server(tmp_path, env={"STUDIO_AUTH": "ann:secret"}).start()  # --auth's default
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(server.url + "config", timeout=10)
        assert e.value.code == 401
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = urllib.parse.urlencode({"username": "ann", "password": "secret"}).encode()
        opener.open(server.url + "login", data=login, timeout=10)
        with opener.open(server.url + "config", timeout=10) as r:
            assert "components" in json.loads(r.read())
    finally:
        server.stop()
