"""Attacks on the web app from other web pages and from password guessers (issue 13, items
1-3), made against a real server in a subprocess with plain HTTP: a DNS-rebinding page (a
foreign ``Host``), a cross-site upload or event (a foreign ``Origin``), CORS answers to another
site, and password guessing. The decisions themselves (``studio.guard``) are tested in-process
first, the throttle with a fake clock. Traffic goes to 127.0.0.1 (and 127.0.0.2, another
loopback address, as a second client) only."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest
from conftest import ROOT
from helpers import clean_env
from PIL import Image
from reliability_kit import Server, Session, solid_png, started_together

from studio import guard
from studio.errors import StudioError
from studio.server import allowed_hosts

USER, PASSWORD = "ann", "correct horse"
EVIL = "evil.example"


# ---- studio.guard, in-process -----------------------------------------------------------------
@pytest.mark.parametrize("value, parsed", [
    ("localhost", ("localhost", None)), ("LocalHost:7860", ("localhost", 7860)), ("127.0.0.1:9", ("127.0.0.1", 9)),
    ("[::1]:7860", ("::1", 7860)), ("[::1]", ("::1", None)), ("::1", ("::1", None)),
    ("studio.example.org.", ("studio.example.org", None)), ("box.local:80", ("box.local", 80)),
    ("", None), ("a b", None), ("user@host", None), ("host/path", None), ("host:", None), ("host:0", None),
    ("host:99999", None), ("host:12x", None), ("[::1", None), ("[evil]:80", None), ("[::1]x", None)])
def test_split_host(value, parsed):
    assert guard.split_host(value) == parsed


LOCAL = guard.HostPolicy.for_server("127.0.0.1")


@pytest.mark.parametrize("host", ["localhost", "localhost:7860", "LOCALHOST:1", "127.0.0.1", "127.0.0.1:7860",
                                  "127.1.2.3:7860", "[::1]:7860", "[::1]", "[::ffff:127.0.0.1]:7860",
                                  "app.localhost:7860"])
def test_loopback_hosts_are_answered(host):
    assert LOCAL.allows(host)


@pytest.mark.parametrize("host", [f"{EVIL}:7860", EVIL, "localhost.evil.example", "127.0.0.1.evil.example",
                                  "192.168.1.5:7860", "[fe80::1]:7860", "", None, "a b", "localhost@evil.example",
                                  "localhost,evil.example", "box", "box.local"])
def test_other_hosts_are_refused_when_bound_to_loopback(host):
    assert not LOCAL.allows(host)


def test_the_refusal_says_which_host_and_how_to_allow_it():
    message = LOCAL.refusal(f"{EVIL}:7860")
    assert "\n" not in message and f"'{EVIL}:7860'" in message
    assert f"--allow-host {EVIL}" in message and f"STUDIO_ALLOW_HOSTS={EVIL}" in message
    assert "Host header" in LOCAL.refusal(None)
    assert len(LOCAL.refusal("x" * 5000)) < 600


def test_allowed_names_exact_suffix_and_any():
    policy = guard.HostPolicy.for_server("127.0.0.1", ["studio.test", ".corp.example"])
    for host in ("studio.test:7860", "STUDIO.TEST", "corp.example", "a.corp.example:443", "a.b.corp.example"):
        assert policy.allows(host), host
    for host in ("studio.test.evil.example", "xstudio.test", "evilcorp.example", "corp.example.evil.example"):
        assert not policy.allows(host), host
    assert guard.HostPolicy.for_server("127.0.0.1", ["*"]).allows(f"{EVIL}:1")
    assert allowed_hosts(["a.test", "b.test,c.test"], env=" lab.example , ") == ("lab.example", "a.test", "b.test",
                                                                                  "c.test")
    assert allowed_hosts(None, env="") == ()
    assert allowed_hosts(["Studio.Test:8443"], env="") == ("studio.test",)  # a port is not part of the name


@pytest.mark.parametrize("value", ["http://studio.test", "studio.test/app", "a b", "user@studio.test", "."])
def test_a_value_that_is_not_a_host_name_is_refused(value):
    with pytest.raises(StudioError, match="--allow-host .*name alone"):
        guard.allowed_names([value])


def test_serving_beyond_this_machine_answers_its_addresses_and_names():
    """Bound to 0.0.0.0 (or a LAN address) the user types this machine's address or name, which
    a rebinding page cannot use; a foreign name is still refused."""
    for bound in ("0.0.0.0", "::", "192.168.1.5"):
        policy = guard.HostPolicy(bound, ("studio.test",), frozenset({"box", "box.local"}))
        assert not policy.local_only
        for host in ("192.168.1.5:7860", "10.0.0.7", "[fe80::1]:7860", "[2001:db8::5]:7860", "box:7860",
                     "box.local:7860", "localhost:7860", "127.0.0.1:7860", "studio.test"):
            assert policy.allows(host), (bound, host)
        for host in (f"{EVIL}:7860", "box.evil.example", "192.168.1.5.evil.example", None):
            assert not policy.allows(host), (bound, host)
        assert "addresses and names of this machine" in policy.refusal(EVIL)
    assert guard.HostPolicy.for_server("192.168.1.5").allows("192.168.1.5:7860")
    assert guard.HostPolicy.for_server("0.0.0.0").own_names == guard.machine_names()
    assert guard.HostPolicy.for_server("localhost").local_only and guard.HostPolicy.for_server("::1").local_only


def _check(method="POST", host="127.0.0.1:7860", scheme="http", **headers):
    return guard.check(LOCAL, method, "/gradio_api/upload", scheme, {"host": host, **headers})


def test_writes_must_come_from_the_apps_own_origin():
    own = "http://127.0.0.1:7860"
    assert _check() is None  # curl, gradio_client: neither Origin nor Referer
    assert _check(origin=own) is None
    assert _check(host="localhost:7860", origin="http://localhost:7860") is None
    assert _check(referer=own + "/sketch?x=1") is None
    assert _check(method="GET", origin=f"http://{EVIL}") is None  # reads are not refused, only not shared
    for headers in ({"origin": f"http://{EVIL}:7860"}, {"origin": "null"}, {"origin": "http://localhost:7860"},
                    {"origin": "http://127.0.0.1:7861"}, {"origin": "https://127.0.0.1:7860"},
                    {"origin": "file://"},
                    {"referer": f"http://{EVIL}/page"}, {"referer": "about:blank"},
                    {"origin": f"http://{EVIL}", "referer": own}, {"sec-fetch-site": "cross-site"}):
        refusal = _check(**headers)
        assert refusal is not None and refusal.status == 403, headers
        assert "\n" not in refusal.message
        assert "own page (http://127.0.0.1:7860)" in refusal.message or "Sec-Fetch-Site" in refusal.message
    for method in ("PUT", "PATCH", "DELETE", "WEBSOCKET"):
        assert _check(method=method, origin=f"http://{EVIL}").status == 403
    shown = guard.check(LOCAL, "POST", "/up\x1b[2Jload\n", "http", {"host": "localhost", "origin": "http://e\x1bvil"})
    assert shown.status == 403 and "\x1b" not in shown.message and "\n" not in shown.message  # shown, never obeyed
    refusal = guard.check(LOCAL, "POST", "/x", "http", {"host": f"{EVIL}:7860", "origin": f"http://{EVIL}:7860"})
    assert refusal.status == 400  # a foreign Host is refused before anything else


def test_origins_behind_a_tls_proxy():
    """Behind a proxy on this machine, uvicorn takes the scheme from X-Forwarded-Proto; default
    ports count as the same origin, and a proxy that hides the scheme is told about."""
    policy = guard.HostPolicy.for_server("127.0.0.1", ["studio.example.org"])
    ok = guard.check(policy, "POST", "/login", "https", {"host": "studio.example.org",
                                                         "origin": "https://studio.example.org"})
    assert ok is None
    assert guard.check(policy, "POST", "/login", "https", {"host": "studio.example.org:443",
                                                           "origin": "https://studio.example.org"}) is None
    refusal = guard.check(policy, "POST", "/login", "http", {"host": "studio.example.org",
                                                             "origin": "https://studio.example.org"})
    assert refusal.status == 403 and "X-Forwarded-Proto" in refusal.message
    assert guard.origin_of("https://[::1]:8443/x") == ("https", "::1", 8443)
    assert guard.origin_of("http://h:99999") is None and guard.origin_of("null") is None


def test_foreign_origin_gets_no_cors_headers():
    assert guard.foreign_origin("http", {"host": "127.0.0.1:7860", "origin": f"http://{EVIL}"})
    assert guard.foreign_origin("http", {"host": "127.0.0.1:7860", "origin": "null"})
    assert not guard.foreign_origin("http", {"host": "127.0.0.1:7860", "origin": "http://127.0.0.1:7860"})
    assert not guard.foreign_origin("http", {"host": "127.0.0.1:7860"})


def test_credentials_compare_every_pair_in_constant_time():
    check = guard.Credentials([("ann", "one"), ("bob", "pa:ss wörd")])
    assert check("ann", "one") and check("bob", "pa:ss wörd")
    for user, password in (("ann", "two"), ("ann", "pa:ss wörd"), ("bob", "one"), ("carl", "one"), ("", ""),
                           ("ann", "one "), ("ann", "on")):
        assert not check(user, password), (user, password)
    assert not guard.Credentials([])("ann", "one")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_delays_then_locks_then_forgets():
    clock = Clock()
    t = guard.LoginThrottle(clock=clock)
    assert [t.failed("a") for _ in range(7)] == [0, 0, 0, 0.5, 1, 2, 4]
    assert t.locked_for("a") == 0
    assert t.failed("a") == 0 and t.locked_for("a") == 300  # the 8th locks
    assert t.locked_for("b") == 0 and t.failed("b") == 0  # another address is not touched
    clock.now += 120
    assert t.locked_for("a") == 180
    message = t.lock_message("a")
    assert "too many wrong passwords from a" in message and "3 min more" in message and "\n" not in message
    clock.now += 181
    assert t.locked_for("a") == 0  # one more try after the lock ...
    t.failed("a")
    assert t.locked_for("a") == 300  # ... and a failure locks again at once
    t.succeeded("a")
    assert t.locked_for("a") == 0 and t.failed("a") == 0  # a right password starts afresh
    for _ in range(4):
        t.failed("c")
    clock.now += 901
    assert t.failed("c") == 0  # failures are forgotten after 15 quiet minutes
    assert "after 8" in t.rule() and "5 min" in t.rule()


def test_throttle_delay_is_capped_and_its_bookkeeping_bounded():
    clock = Clock()
    t = guard.LoginThrottle(clock=clock, lock_after=100, max_clients=50)
    assert max(t.failed("a") for _ in range(30)) == t.max_delay
    for i in range(500):
        clock.now += 0.01
        t.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(t._clients) <= 50
    assert t.locked_for("a") == 0


# ---- a real server --------------------------------------------------------------------------
def request(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None,
            source: str | None = None) -> tuple[int, bytes, dict[str, str], float]:
    """(status, body, lower-cased headers, seconds) of one request sent exactly as written,
    from the loopback address ``source`` if given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120,
                                      source_address=(source, 0) if source else None)
    try:
        t0 = time.monotonic()
        conn.request(method, path, body=body or None, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, data, {k.lower(): v for k, v in r.getheaders()}, time.monotonic() - t0
    finally:
        conn.close()


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def login_form(password: str, user: str = USER) -> bytes:
    return urllib.parse.urlencode({"username": user, "password": password}).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """An open server that allows three extra names (one by flag, two by STUDIO_ALLOW_HOSTS),
    holding one project with one image, and a server with --auth; started at once."""
    open_ = Server(tmp_path_factory.mktemp("open"), args=["--allow-host", "studio.test"],
                   env={"STUDIO_ALLOW_HOSTS": "lab.example,.corp.example"})
    from studio.samples.store import Store

    project = Store(open_.captures).create("Secret project", "photo")
    sample = project.add_sample("Class 1", Image.new("RGB", (32, 32), (1, 2, 3))).path
    locked = Server(tmp_path_factory.mktemp("auth"), args=["--auth", f"{USER}:{PASSWORD}"])
    with started_together(open_, locked):
        yield open_, locked, sample


def stored(server: Server, name: str) -> list:
    return list((server.work / "gradio").rglob(name))


@pytest.mark.server
def test_dns_rebinding_page_is_refused(servers):
    """The probe's attack: Host and Origin of a rebound name, on the file route, the page, the
    config and the queue. Each gets a one-line 400 naming the host and the fix, and no data."""
    srv, _, sample = servers
    secret = sample.read_bytes()
    foreign = {"Host": f"{EVIL}:{srv.port}", "Origin": f"http://{EVIL}:{srv.port}"}
    join = json.dumps({"data": [], "fn_index": 0, "session_hash": "x"}).encode()
    upload, kind = multipart("rebound.png", solid_png((5, 6, 7)))
    attempts = (("GET", f"/gradio_api/file={sample}", b"", {}), ("GET", "/", b"", {}), ("GET", "/config", b"", {}),
                ("GET", "/gradio_api/info", b"", {}),
                ("POST", "/gradio_api/queue/join", join, {"Content-Type": "application/json"}),
                ("POST", "/gradio_api/upload", upload, {"Content-Type": kind}),
                ("OPTIONS", "/gradio_api/upload", b"", {"Access-Control-Request-Method": "POST"}))
    for method, path, body, extra in attempts:
        status, data, headers, _ = request(srv.port, method, path, body, {**foreign, **extra})
        assert status == 400, (method, path, status)
        text = data.decode()
        assert text.count("\n") == 1 and f"'{EVIL}:{srv.port}'" in text and f"--allow-host {EVIL}" in text, text
        assert secret not in data and b"Secret project" not in data
        assert not any(h.startswith("access-control-") for h in headers), (path, headers)
    assert not stored(srv, "rebound.png")
    assert f"--allow-host {EVIL}" in srv.log()  # the user sees why, on the server's stderr


@pytest.mark.server
def test_allowed_and_local_hosts_are_served(servers):
    srv, _, sample = servers
    secret = sample.read_bytes()
    for host in ("studio.test", "lab.example", "corp.example", "a.corp.example", "localhost", "127.0.0.1", "[::1]"):
        for value in (host, f"{host}:{srv.port}"):
            status, data, _, _ = request(srv.port, "GET", "/config", headers={"Host": value})
            assert status == 200 and b"components" in data, (value, status, data[:200])
    status, data, _, _ = request(srv.port, "GET", f"/gradio_api/file={sample}",
                                 headers={"Host": f"studio.test:{srv.port}"})
    assert status == 200 and data == secret
    for host in ("studio.test.evil.example", "lab.example.evil.example", "corpx.example"):
        assert request(srv.port, "GET", "/config", headers={"Host": host})[0] == 400, host


@pytest.mark.server
def test_cross_site_writes_are_refused_and_nothing_is_stored(servers):
    srv, _, sample = servers
    own = f"http://127.0.0.1:{srv.port}"
    for i, headers in enumerate(({"Origin": f"http://{EVIL}"}, {"Origin": "null"},
                                 {"Origin": f"http://localhost:{srv.port}"},  # another name, another origin
                                 {"Referer": f"http://{EVIL}/page.html"},
                                 {"Origin": f"http://{EVIL}", "Referer": own + "/"})):
        body, kind = multipart(f"cross-{i}.png", solid_png((9, 9, i)))
        status, data, answer, _ = request(srv.port, "POST", "/gradio_api/upload", body,
                                          {**headers, "Content-Type": kind})
        assert status == 403, (headers, status, data[:200])
        assert data.decode().count("\n") == 1 and f"own page ({own})" in data.decode(), data
        assert not any(h.startswith("access-control-") for h in answer)
        assert not stored(srv, f"cross-{i}.png"), f"a cross-site upload was stored ({headers})"
    join = json.dumps({"data": [], "fn_index": 0, "session_hash": "x"}).encode()
    assert request(srv.port, "POST", "/gradio_api/queue/join", join,
                   {"Origin": f"http://{EVIL}", "Content-Type": "application/json"})[0] == 403
    # the app's own page (under either name), and clients that send no Origin, still upload
    for i, headers in enumerate(({"Origin": own}, {"Referer": own + "/sketch"},
                                 {"Host": f"localhost:{srv.port}", "Origin": f"http://localhost:{srv.port}"}, {})):
        body, kind = multipart(f"own-{i}.png", solid_png((8, 8, i)))
        status, data, _, _ = request(srv.port, "POST", "/gradio_api/upload", body, {**headers, "Content-Type": kind})
        assert status == 200, (headers, status, data[:200])
        assert len(stored(srv, f"own-{i}.png")) == 1


@pytest.mark.server
def test_behind_a_tls_proxy_on_this_machine(servers):
    """What the README's proxy set-up sends: the browser's Host (an allowed name) and the
    scheme in X-Forwarded-Proto, from 127.0.0.1. Without the scheme, or from an address that
    is not a proxy on this machine, the https page's upload is refused."""
    srv, _, _ = servers
    proxied = {"Host": "studio.test", "Origin": "https://studio.test", "X-Forwarded-For": "203.0.113.9"}
    for i, (headers, source, expected) in enumerate((({"X-Forwarded-Proto": "https"}, None, 200),
                                                     ({}, None, 403),
                                                     ({"X-Forwarded-Proto": "https"}, "127.0.0.2", 403))):
        body, kind = multipart(f"proxied-{i}.png", solid_png((7, 7, i)))
        status, data, _, _ = request(srv.port, "POST", "/gradio_api/upload", body,
                                     {**proxied, **headers, "Content-Type": kind}, source=source)
        assert status == expected, (headers, source, status, data[:300])
        assert len(stored(srv, f"proxied-{i}.png")) == (expected == 200)
        if expected == 403:
            assert "X-Forwarded-Proto" in data.decode()


@pytest.mark.server
def test_no_cors_header_answers_another_site(servers):
    """Gradio echoes any Origin in Access-Control-Allow-Origin when the Host is not a loopback
    name (here an allowed one): studio strips it for every origin but its own."""
    srv, _, sample = servers
    host = f"studio.test:{srv.port}"
    status, _, headers, _ = request(srv.port, "GET", "/config", headers={"Host": host, "Origin": f"http://{host}"})
    assert status == 200 and headers.get("access-control-allow-origin") == f"http://{host}"  # Gradio's own echo
    for origin in (f"http://{EVIL}", f"http://{EVIL}:{srv.port}", "null", f"https://{host}"):
        status, data, headers, _ = request(srv.port, "GET", "/config", headers={"Host": host, "Origin": origin})
        assert status == 200 and not any(h.startswith("access-control-") for h in headers), (origin, headers)
        status, _, headers, _ = request(srv.port, "OPTIONS", "/gradio_api/upload", headers={
            "Host": host, "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert not any(h.startswith("access-control-allow-origin") for h in headers), (origin, headers)


@pytest.mark.server
@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_the_app_works_through_localhost_and_127_0_0_1(servers, name):
    """A session speaking the page's protocol, with the Origin a browser sends, creates a project."""
    srv, _, sample = servers
    url = f"http://{name}:{srv.port}/"
    s = Session(url)
    try:
        s.http.headers["Origin"] = url.rstrip("/")
        s.call("create", f"Via {name}", "photo")
        reader = s._reader  # the event stream's reader ends once the server closes the stream
        if reader is not None:
            reader.join(60)
    finally:
        s.close()
    names = [json.loads(p.read_text(encoding="utf-8"))["name"] for p in srv.captures.glob("*/project.json")]
    assert f"Via {name}" in names, names


@pytest.mark.server
def test_password_guessing_is_slowed_then_locked(servers):
    _, srv, _ = servers
    guess = login_form("wrong")
    answers = [request(srv.port, "POST", "/login", guess, FORM) for _ in range(8)]
    assert [a[0] for a in answers] == [400] * 8
    for answer, least in zip(answers[3:7], (0.5, 1, 2, 4)):
        assert answer[3] >= least, [round(a[3], 2) for a in answers]  # each further wrong password waits longer
    status, data, headers, _ = request(srv.port, "POST", "/login", login_form(PASSWORD), FORM)
    assert status == 429, "the 8th wrong password locks the address, even against the right one"
    assert 200 <= int(headers["retry-after"]) <= 300
    text = data.decode()
    assert text.count("\n") == 1 and "too many wrong passwords from 127.0.0.1" in text and "min" in text
    # the page's login form (a browser's fetch) shows only 400s: it gets one, with the same words
    status, data, _, _ = request(srv.port, "POST", "/login", login_form(PASSWORD), {**FORM, "Sec-Fetch-Mode": "cors"})
    assert status == 400 and "too many wrong passwords" in data.decode()
    # another address is not locked out by this one's guesses
    status, data, headers, _ = request(srv.port, "POST", "/login", login_form(PASSWORD), FORM, source="127.0.0.2")
    assert status == 200 and "set-cookie" in headers, data
    # a login posted by another site's page is refused before the password is looked at
    status, _, _, _ = request(srv.port, "POST", "/login", login_form(PASSWORD), {**FORM, "Origin": f"http://{EVIL}"},
                              source="127.0.0.3")
    assert status == 403


@pytest.mark.server
def test_parallel_guesses_queue_behind_each_others_delays(servers):
    """Six wrong passwords sent at once from one address are answered one after another, each
    after the delays of those before it: all six take at least 0.5 + 1 + 2 s, where answering
    them side by side would take 2 s."""
    _, srv, _ = servers
    start = threading.Barrier(7)
    statuses: list[int] = []

    def guess():
        start.wait()
        statuses.append(request(srv.port, "POST", "/login", login_form("wrong"), FORM, source="127.0.0.4")[0])

    threads = [threading.Thread(target=guess) for _ in range(6)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    assert statuses == [400] * 6 and time.monotonic() - t0 >= 3.5


def test_a_bad_allow_host_is_one_line_before_gradio_loads(tmp_path):
    r = subprocess.run([sys.executable, "-m", "studio", "--captures", str(tmp_path), "serve", "--port", "9",
                        "--allow-host", "http://studio.test/"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                       env=clean_env(GRADIO_TEMP_DIR=str(tmp_path / "gradio")))
    assert r.returncode == 1 and r.stderr.startswith("studio: error: --allow-host") and r.stderr.count("\n") == 1, \
        r.stderr
