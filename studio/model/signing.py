"""Which models this installation trained, told by a signature in model.json.

The checksum in model.json guards against a damaged file, not against a sender: a project folder
copied from someone else can carry a pickle that runs their code when it is loaded, with a
matching checksum. So, as Jupyter signs notebooks, studio signs what decides how a model behaves
(the model file's SHA-256, its labels, feature spec and settings) with an HMAC-SHA256 under a
secret that only this installation holds, and loads a project model only if it verifies. The
secret lives in the user's config folder ($STUDIO_CONFIG, else $XDG_CONFIG_HOME/studio, else
~/.config/studio), made on first use and readable by the user alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from studio.errors import StudioError
from studio.samples import atomic

SCHEME = "hmac-sha256"
SIGNED = ("sha256", "labels", "spec", "settings")  # model.json's fields that the signature covers
WHAT = "the secret that marks the models this installation trains as its own"


def config_dir() -> Path:
    """Where studio keeps per-user settings: $STUDIO_CONFIG, else $XDG_CONFIG_HOME/studio, else ~/.config/studio."""
    if os.environ.get("STUDIO_CONFIG"):
        return Path(os.environ["STUDIO_CONFIG"])
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "studio"


def secret_path() -> Path:
    return config_dir() / "secret"


def secret() -> bytes:
    """This installation's secret, made on first use (atomically, so two studio processes agree on it)."""
    path = secret_path()
    key = _read(path)
    if key is not None:
        return key
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic.write_new(path, secrets.token_hex(32).encode() + b"\n")  # a mkstemp file: mode 0600
    except FileExistsError:  # another studio process made it meanwhile: theirs is the one
        pass
    except OSError as e:
        raise StudioError(f"studio cannot create {path}, {WHAT} ({e.strerror}): make {path.parent} writable, "
                          "or set STUDIO_CONFIG to a folder you can write.") from None
    return secret()


def _read(path: Path) -> bytes | None:
    """The secret in ``path``, or None when there is none yet."""
    try:
        key = path.read_bytes().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise StudioError(f"studio cannot read {path}, {WHAT} ({e.strerror}): make it readable by you.") from None
    if len(key) < 32:
        raise StudioError(f"{path}, {WHAT}, is damaged (too short): delete it, and studio makes a new one (models "
                          "trained before then will need training again).")
    return key


def _digest(meta: dict, key: bytes) -> str:
    signed = json.dumps({k: meta.get(k) for k in SIGNED}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"{SCHEME}:" + hmac.new(key, b"studio model\n" + signed.encode(), hashlib.sha256).hexdigest()


def sign(meta: dict) -> str:
    """The signature of model.json's ``meta``, made with this installation's secret (created if need be)."""
    return _digest(meta, secret())


def verifies(meta: dict) -> bool:
    """Whether this installation signed ``meta``; never true without a secret, as nothing was signed then."""
    signature = meta.get("signature")
    if not isinstance(signature, str):
        return False
    key = _read(secret_path())
    return key is not None and hmac.compare_digest(signature.encode(), _digest(meta, key).encode())
