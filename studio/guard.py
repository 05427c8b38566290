"""What keeps the web app safe from other web pages and from password guessing, as plain
decisions (no gradio, no ASGI: ``studio.server`` wires them into the app):

- which ``Host`` names the server answers: a page of another site can rebind its own name to
  127.0.0.1 (DNS rebinding) and then talk to studio as if it were studio's own page, but its
  requests still carry that site's name;
- whether a request that changes something comes from studio's own page (``Origin``, else
  ``Referer``): another site's page can post forms and uploads to any address it likes;
- how a password is checked (in constant time) and how long a client address waits after
  failed logins (``LoginThrottle``), so that passwords cannot be guessed at network speed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from studio.errors import StudioError

LOCAL_NAMES = frozenset({"localhost"})
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::", "[::]"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE", "WEBSOCKET"})  # a WebSocket can write too
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
ANY_HOST = "*"
_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$")


# ---- Host names -------------------------------------------------------------------------------
def split_host(value: str) -> tuple[str, int | None] | None:
    """``name``, ``name:port``, ``1.2.3.4:port``, ``[::1]:port`` as (lower-case name without
    brackets or trailing dot, port or None); None for anything else (a path, a user, spaces)."""
    value = value.strip().lower()
    port: str | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
        if _ip(name) is None:
            return None
    elif value.count(":") > 1:  # a bare IPv6 address: no port can be told apart
        name = value
        if _ip(name) is None:
            return None
    else:
        name, sep, port_text = value.partition(":")
        port = port_text if sep else None
    name = name.rstrip(".") if _ip(name) is None else name
    if not name or len(name) > 253 or (_ip(name) is None and not _NAME.match(name)):
        return None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            return None
        return name, int(port)
    return name, None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _loopback(name: str) -> bool:
    addr = _ip(name)
    return addr.is_loopback if addr is not None else name in LOCAL_NAMES or name.endswith(".localhost")


def allowed_names(values: Iterable[str]) -> tuple[str, ...]:
    """The names given to ``--allow-host`` / ``STUDIO_ALLOW_HOSTS`` (commas split them):
    ``name``, ``.example.org`` (it and every name under it) or ``*`` (any name)."""
    names: list[str] = []
    for raw in (part.strip() for value in values for part in value.split(",")):
        if not raw:
            continue
        if raw == ANY_HOST:
            names.append(ANY_HOST)
            continue
        suffix = raw.startswith(".")
        parsed = split_host(raw[1:] if suffix else raw)
        if parsed is None or "/" in raw:
            raise StudioError(f"--allow-host {raw!r} is not a host name: give the name alone, as the browser's "
                              "address bar shows it (studio.example.org, or .example.org for every name under it).")
        names.append(("." if suffix else "") + parsed[0])
    return tuple(dict.fromkeys(names))


def machine_names() -> frozenset[str]:
    """This machine's own names, as people on the network reach it (``box``, ``box.local``);
    read without asking DNS, which can hang on a badly configured network."""
    try:
        full = socket.gethostname().lower().rstrip(".")
    except OSError:
        return frozenset()
    short = full.split(".")[0]
    return frozenset(n for n in (full, short, f"{short}.local") if n and _NAME.match(n))


@dataclass(frozen=True)
class HostPolicy:
    """Which ``Host`` headers the server answers. A DNS-rebinding page always reaches studio
    under its own *name*, never under an IP address or a name of this machine, so these are
    answered: loopback names and addresses, the address studio is bound to, the names the user
    allows, and, when studio serves beyond this machine, any IP address (the one of this machine
    the user typed: it cannot be rebound) and this machine's own names."""

    bound: str
    allowed: tuple[str, ...] = ()
    own_names: frozenset[str] = frozenset()

    @classmethod
    def for_server(cls, bound: str, allowed: Iterable[str] = ()) -> HostPolicy:
        policy = cls(bound, allowed_names(allowed))
        return policy if policy.local_only else cls(bound, policy.allowed, machine_names())

    @property
    def local_only(self) -> bool:
        """Bound to a loopback address: only this machine can connect."""
        return self.bound.strip().lower() not in WILDCARD_ADDRESSES and _loopback(self.bound.strip("[]").lower())

    @property
    def any_host(self) -> bool:
        return ANY_HOST in self.allowed

    def allows(self, host_header: str | None) -> bool:
        if self.any_host:
            return True
        parsed = split_host(host_header or "")
        if parsed is None:
            return False
        name = parsed[0]
        if _loopback(name):
            return True
        bound = split_host(self.bound)
        if bound is not None and name == bound[0]:
            return True
        if not self.local_only and (_ip(name) is not None or name in self.own_names):
            return True
        return any(name == a or (a.startswith(".") and (name == a[1:] or name.endswith(a))) for a in self.allowed)

    def refusal(self, host_header: str | None) -> str:
        """The one line a refused request gets: which host, and how to allow it."""
        if not host_header:
            return "studio: refused a request without a Host header; send the address you connect to as Host."
        parsed = split_host(host_header)
        shown = host_header if len(host_header) <= 100 else host_header[:100] + "..."
        if parsed is None:
            return f"studio: refused a request for host {shown!r}: not a host name."
        name = parsed[0]
        return (f"studio: refused a request for host {shown!r}: studio answers only localhost, 127.0.0.1, [::1]"
                f"{'' if self.local_only else ', the addresses and names of this machine'} and the address it "
                f"serves on, so that other web sites cannot reach it by DNS rebinding. If you reach studio by "
                f"that name, start it with --allow-host {name} (or STUDIO_ALLOW_HOSTS={name}).")


# ---- origins ----------------------------------------------------------------------------------
Origin = tuple[str, str, int]  # scheme, host name, port


def origin_of(url: str | None) -> Origin | None:
    """The (scheme, host, port) of an ``Origin`` or ``Referer`` value; None if it has none
    (``null``, a ``file:`` page, nonsense)."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.rstrip(".") if _ip(parts.hostname) is None else parts.hostname
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def own_origin(scheme: str, host_header: str | None) -> Origin | None:
    """The origin of the page that made this request if it was studio's own: the scheme it
    came in on (``X-Forwarded-Proto`` behind a proxy on this machine) and its ``Host``."""
    parsed = split_host(host_header or "")
    scheme = scheme.lower()
    if parsed is None or scheme not in DEFAULT_PORTS:
        return None
    name, port = parsed
    return scheme, name, port if port is not None else DEFAULT_PORTS[scheme]


def show(origin: Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if DEFAULT_PORTS.get(scheme) == port else f":{port}")


@dataclass(frozen=True)
class Refusal:
    """A request studio does not serve: the status and the one line that says why."""

    status: int
    message: str


def check(policy: HostPolicy, method: str, path: str, scheme: str, headers: dict[str, str]) -> Refusal | None:
    """Why this request must be refused (400 for a foreign Host, 403 for a write from another
    site's page), or None. ``headers`` has lower-case names. A write without ``Origin`` or
    ``Referer`` (curl, gradio_client, scripts) is served: only browsers send them, and a browser
    sends ``Origin`` with every cross-site write."""
    host = headers.get("host")
    if not policy.allows(host):
        return Refusal(400, policy.refusal(host))
    if method.upper() not in STATE_CHANGING:
        return None
    own = own_origin(scheme, host)
    path = _printable(path[:100])
    for header in ("origin", "referer"):
        value = headers.get(header)
        if value is None:
            continue
        source = origin_of(value)
        if source is not None and source == own:
            return None
        came = _printable(show(source)) if source else repr(value[:100])
        mine = show(own) if own else "this server"
        return Refusal(403, f"studio: refused {method.upper()} {path} from {came} ({header.title()}): "
                            f"only studio's own page ({mine}) may send it. If that is studio's page "
                            "behind a proxy, make the proxy pass the Host header and X-Forwarded-Proto.")
    if headers.get("sec-fetch-site") == "cross-site":
        return Refusal(403, f"studio: refused {method.upper()} {path} from another site's page "
                            "(Sec-Fetch-Site: cross-site): only studio's own page may send it.")
    return None


def _printable(text: str) -> str:
    """``text`` fit for one line of a terminal: what a request sends is shown, never obeyed."""
    return "".join(c if c.isprintable() else "?" for c in text)


def foreign_origin(scheme: str, headers: dict[str, str]) -> bool:
    """The request names an ``Origin`` that is not studio's own: no CORS header may answer it."""
    origin = headers.get("origin")
    if origin is None:
        return False
    source = origin_of(origin)
    return source is None or source != own_origin(scheme, headers.get("host"))


# ---- passwords --------------------------------------------------------------------------------
def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Credentials:
    """``user:password`` pairs, checked as Gradio's ``auth`` callable: every pair is compared
    with ``hmac.compare_digest`` on SHA-256 digests, so the time taken says nothing about which
    user exists or how much of a password was right (nor about its length)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._pairs = [(_digest(user), _digest(password)) for user, password in pairs]

    def __call__(self, username: str, password: str) -> bool:
        user, given = _digest(username), _digest(password)
        found = False
        for known_user, known_password in self._pairs:
            found |= hmac.compare_digest(user, known_user) & hmac.compare_digest(given, known_password)
        return found


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    """Failed logins per client address: the first ``free`` are answered at once (typos), each
    further one ``delay`` seconds later, doubling, up to ``max_delay``; the ``lock_after``-th
    locks the address out for ``lock_s`` seconds, and once that ends every further failure
    locks it again. A right password resets the address; failures are forgotten after
    ``forget_s`` seconds without one. The caller serialises attempts from one address, so
    that parallel guesses queue behind each other's delays."""

    free: int = 3
    delay: float = 0.5
    max_delay: float = 8.0
    lock_after: int = 8
    lock_s: float = 300.0
    forget_s: float = 900.0
    max_clients: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _clients: dict[str, _Failures] = field(default_factory=dict)

    def _record(self, client: str) -> _Failures | None:
        rec = self._clients.get(client)
        if rec is not None and self.clock() - rec.last > self.forget_s and self.clock() >= rec.locked_until:
            del self._clients[client]
            return None
        return rec

    def locked_for(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        rec = self._record(client)
        return max(0.0, rec.locked_until - self.clock()) if rec else 0.0

    def failed(self, client: str) -> float:
        """Count a wrong password from ``client``; the seconds its answer must be held back."""
        now = self.clock()
        rec = self._record(client) or self._clients.setdefault(client, _Failures())
        rec.count += 1
        rec.last = now
        self._prune(now)
        if rec.count >= self.lock_after:
            rec.locked_until = now + self.lock_s
            return 0.0
        if rec.count <= self.free:
            return 0.0
        return min(self.max_delay, self.delay * 2 ** (rec.count - self.free - 1))

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    def _prune(self, now: float) -> None:
        """Keep the bookkeeping bounded however many addresses a guesser uses."""
        if len(self._clients) <= self.max_clients:
            return
        for client, rec in list(self._clients.items()):
            if now - rec.last > self.forget_s and now >= rec.locked_until:
                del self._clients[client]
        while len(self._clients) > self.max_clients:
            del self._clients[min(self._clients, key=lambda c: self._clients[c].last)]

    def rule(self) -> str:
        """The policy in words, for the login page."""
        return (f"After {self.free} wrong passwords, each further one is answered more slowly; after "
                f"{self.lock_after}, logins from your address are refused for {_duration(self.lock_s)}.")

    def lock_message(self, client: str) -> str:
        left = self.locked_for(client)
        return (f"studio: too many wrong passwords from {client}: logins from this address are refused for "
                f"{_duration(left)} more. Wait, then check the user name and password.")


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")
