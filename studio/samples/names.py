"""Validation of user-given names and the safe folder names derived from them."""

from __future__ import annotations

import re
import unicodedata

from studio.errors import InvalidName

MAX_NAME = 64
_FOLDER_MAX = 48
# Explicit direction overrides can make a name display as something else; plain RTL text is fine.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_name(text: object, what: str = "name") -> str:
    """Return ``text`` stripped of surrounding spaces, or raise InvalidName saying why."""
    if not isinstance(text, str):
        raise InvalidName(f"The {what} must be text, got {type(text).__name__}.")
    name = text.strip()
    if not name:
        raise InvalidName(f"The {what} is empty: type at least one visible character.")
    if len(name) > MAX_NAME:
        raise InvalidName(f"The {what} has {len(name)} characters; at most {MAX_NAME} are allowed.")
    if any(unicodedata.category(c) in ("Cc", "Cs") or c in _BIDI_CONTROLS for c in name):
        raise InvalidName(f"The {what} {name!r} contains control characters; remove them.")
    return name


def folder_for(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A folder name for ``name``: letters, digits, '-', '_' and '.', never '.' or '..' alone,
    unique among ``taken`` compared case-insensitively."""
    cleaned = "".join(
        c if (c.isalnum() or c in "-_.") else "_" for c in unicodedata.normalize("NFC", name)
    )
    cleaned = re.sub(r"_+", "_", cleaned).strip("._") or "item"
    cleaned = cleaned[:_FOLDER_MAX]
    lowered = {t.casefold() for t in taken}
    candidate, n = cleaned, 2
    while candidate.casefold() in lowered:
        candidate = f"{cleaned}-{n}"
        n += 1
    return candidate
