"""``studio serve``: start the web app. Gradio is imported only here, lazily, and in studio.ui."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from studio import guard
from studio.errors import StudioError
from studio.samples import atomic

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_FILE_SIZE = "50mb"
LOGIN_PATHS = ("/login", "/login/")
ALLOW_HOSTS_ENV = "STUDIO_ALLOW_HOSTS"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def read_auth(value: str | None) -> list[tuple[str, str]] | None:
    """``user:password``, or a file with one ``user:password`` per line (``#`` comments)."""
    if not value:
        return None
    path = Path(value)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [value]
    pairs = []
    for line in (x.strip() for x in lines):
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            where = f"{path}: " if path.is_file() else ""
            raise StudioError(f"{where}--auth needs user:password (or a file of such lines); got {line[:40]!r}.")
        pairs.append((user, password))
    if not pairs:
        raise StudioError(f"{value} holds no user:password line.")
    return pairs


def exposure_warning(host: str, port: int, auth: list | None) -> str | None:
    """What to tell the user when the app is reachable from other machines."""
    if host in LOCAL_HOSTS:
        return None
    return (f"Warning: serving on {host}: anyone who can reach this machine on port {port} can see, change "
            "and delete your projects" + ("." if auth else "; protect it with --auth user:password."))


def allowed_hosts(flags: list[str] | None, env: str | None = None) -> tuple[str, ...]:
    """The names of ``STUDIO_ALLOW_HOSTS`` (comma-separated) and of every ``--allow-host``."""
    env = os.environ.get(ALLOW_HOSTS_ENV) if env is None else env
    return guard.allowed_names([env or "", *(flags or [])])


class WebGuard:
    """ASGI middleware around the whole of Gradio's app (its CORS middleware included): refuses
    foreign Host names and writes from other sites' pages before Gradio sees them, keeps CORS
    headers from answering another site's page, and holds back failed logins (``LoginThrottle``)."""

    def __init__(self, app: ASGIApp, hosts: guard.HostPolicy, throttle: guard.LoginThrottle | None):
        self.app, self.hosts, self.throttle = app, hosts, throttle
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}
        self._reported: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
        scheme = scope.get("scheme", "http")
        refusal = guard.check(self.hosts, method, scope.get("path", "/"), scheme, headers)
        if refusal is not None:
            self._report(refusal.message)
            await _refuse(scope, send, refusal.status, refusal.message)
            return
        if guard.foreign_origin(scheme, headers):
            send = _without_cors(send)
        if self.throttle is not None and method == "POST" and scope.get("path") in LOGIN_PATHS:
            await self._login(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One login attempt at a time per client address; a locked address gets 429 (400 from the
        page's login form, which then clears its fields and says the credentials failed, below the
        rule it shows), a wrong password its answer only after the throttle's delay."""
        assert self.throttle is not None
        client = (scope.get("client") or ("unknown",))[0]
        async with self._turn(client):
            left = self.throttle.locked_for(client)
            if left > 0:  # Gradio's login form reacts to 400 only: a browser's fetch gets that
                status = 400 if "sec-fetch-mode" in _headers(scope) else 429
                await _refuse(scope, send, status, self.throttle.lock_message(client),
                              [(b"retry-after", str(math.ceil(left)).encode())])
                return
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            status = held[0].get("status") if held and held[0]["type"] == "http.response.start" else None
            if status == 200:
                self.throttle.succeeded(client)
            elif status == 400:  # Gradio's "Incorrect credentials"
                delay = self.throttle.failed(client)
                if delay:
                    await asyncio.sleep(delay)
            for message in held:
                await send(message)

    @asynccontextmanager
    async def _turn(self, client: str) -> AsyncIterator[None]:
        lock, users = self._turns.get(client) or (asyncio.Lock(), 0)
        self._turns[client] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[client]
            if users <= 1:
                del self._turns[client]
            else:
                self._turns[client] = (lock, users - 1)

    def _report(self, message: str) -> None:
        """Say on stderr why requests are refused, once per reason, so that a user whose proxy
        or bookmark is refused sees what to do without reading the browser's network panel."""
        if message in self._reported or len(self._reported) >= 50:
            return
        self._reported.add(message)
        print(message, file=sys.stderr, flush=True)


def _headers(scope: Scope) -> dict[str, str]:
    """Lower-case names; a header sent twice is joined with commas (two Hosts do not parse)."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        out[key] = f"{out[key]},{text}" if key in out else text
    return out


async def _refuse(scope: Scope, send: Send, status: int, message: str,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = (message + "\n").encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


def _without_cors(send: Send) -> Send:
    """``send``, minus every Access-Control-* header: Gradio's CORS middleware echoes any Origin
    when the Host is not a loopback name, which would let another site's page read the answers."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [(k, v) for k, v in message.get("headers", [])
                                  if not k.lower().startswith(b"access-control-")]
        await send(message)

    return wrapped


def serve(args: argparse.Namespace) -> None:
    """Build the app on the store in ``args.captures`` and serve it until interrupted."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    auth = read_auth(args.auth)
    captures = Path(args.captures).resolve()
    captures.mkdir(parents=True, exist_ok=True)
    from studio.export.bundle import default_out
    exports = Path(args.exports).resolve() if args.exports else default_out().resolve()
    exports.mkdir(parents=True, exist_ok=True)
    left = [*atomic.sweep(captures), *atomic.sweep(exports)]
    if left:
        print(f"studio: removed {len(left)} unfinished temporary file{'s' if len(left) != 1 else ''} "
              "left by an earlier crash", file=sys.stderr)
    hosts = guard.HostPolicy.for_server(args.host, allowed_hosts(getattr(args, "allow_host", None)))
    warning = exposure_warning(args.host, args.port, auth)
    if warning:
        print(warning, file=sys.stderr)
    if hosts.any_host:
        print("Warning: --allow-host '*': studio answers any host name, so a web page you visit can reach it "
              "by DNS rebinding; name the hosts instead.", file=sys.stderr)
    elif hosts.allowed:
        print(f"studio: also answering for {', '.join(hosts.allowed)}", file=sys.stderr)
    throttle = guard.LoginThrottle() if auth else None

    from PIL import Image

    from studio.samples.images import MAX_PIXELS
    # Gradio decodes webcam frames and drawings itself, under Pillow's limit (179 megapixels by
    # default): hold that to studio's own, so that no request makes the server decode a bomb.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow refuses images of more than twice this

    from studio.samples.store import Store
    from studio.ui import build, guarded_app, launch_options

    demo = build(Store(captures), exports)
    demo.queue(default_concurrency_limit=4)
    print(f"studio: projects in {captures}, exports in {exports}", flush=True)
    # No SSR front (Node) and no static-file workers: every request must pass through the guard.
    demo.launch(server_name=args.host, server_port=args.port, auth=guard.Credentials(auth) if auth else None,
                auth_message=throttle.rule() if throttle else None, max_file_size=MAX_FILE_SIZE,
                allowed_paths=[str(captures), str(exports)], footer_links=[], run_history=False,
                enable_monitoring=False, show_error=False, ssr_mode=False, num_workers=0,
                _app=guarded_app(lambda app: WebGuard(app, hosts, throttle)), quiet=True, prevent_thread_lock=True,
                **launch_options())
    # quiet: Gradio's own lines offer share links studio never makes; say where the page is instead
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"studio: running on http://{'127.0.0.1' if host == '0.0.0.0' else host}:{demo.server_port}/ "
          "(Ctrl+C stops it)", flush=True)
    demo.block_thread()
