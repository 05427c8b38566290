"""``studio serve``: start the web app. Gradio is imported only here, lazily, and in studio.ui."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from studio.errors import StudioError
from studio.samples import atomic

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_FILE_SIZE = "50mb"


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
    warning = exposure_warning(args.host, args.port, auth)
    if warning:
        print(warning, file=sys.stderr)

    from PIL import Image

    from studio.samples.images import MAX_PIXELS
    # Gradio decodes webcam frames and drawings itself, under Pillow's limit (179 megapixels by
    # default): hold that to studio's own, so that no request makes the server decode a bomb.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow refuses images of more than twice this

    from studio.samples.store import Store
    from studio.ui import build, launch_options

    demo = build(Store(captures), exports)
    demo.queue(default_concurrency_limit=4)
    print(f"studio: projects in {captures}, exports in {exports}", flush=True)
    demo.launch(server_name=args.host, server_port=args.port, auth=auth, max_file_size=MAX_FILE_SIZE,
                allowed_paths=[str(captures), str(exports)], footer_links=[], run_history=False,
                enable_monitoring=False, show_error=False, **launch_options())
