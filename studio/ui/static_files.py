"""The browser files studio serves itself at ``/studio-static/``: studio's own pose script and the
npm packages ``make`` installs beside it (MediaPipe Pose, onnxruntime-web), so that the pose page
needs nothing from a CDN. Only the folders in ``SERVED`` and the file types in ``MEDIA_TYPES`` are
served, never a directory listing nor a path that leaves its folder, and only to a signed-in user
when the app has ``--auth`` (Gradio's own check; the Host/Origin guard wraps every route)."""

from __future__ import annotations

import inspect
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

import studio

STATIC = studio.STATIC
URL = "/studio-static"
SERVED = ("pose", "node_modules/@mediapipe/pose", "node_modules/onnxruntime-web/dist")
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm",
    ".data": "application/octet-stream", ".tflite": "application/octet-stream",
    ".binarypb": "application/octet-stream",
}
POSE_SCRIPT = f"{URL}/pose/studio-pose.js"
POSE_BASE = f"{URL}/node_modules/@mediapipe/pose/"
MISSING = ("The pose model's browser files are not installed (studio/static/node_modules): stop studio and "
           "start it with `make run`, which installs them with npm (Node.js and npm are needed).")


def pose_files_missing(root: Path = STATIC) -> bool:
    """Whether MediaPipe Pose's files are absent (``make`` was not run, or npm was missing)."""
    return not (root / SERVED[1] / "pose.js").is_file()


def resolve(path: str, root: Path = STATIC) -> Path | None:
    """The file under ``root`` that ``path`` (the URL's rest) names, or None when it is not one to
    serve: outside ``SERVED``, hidden, of another type, a folder, or (through a link) elsewhere."""
    if "\\" in path or "\0" in path:
        return None
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    rel = "/".join(parts)
    folder = next((f for f in SERVED if rel.startswith(f + "/")), None)
    if folder is None or PurePosixPath(rel).suffix.lower() not in MEDIA_TYPES:
        return None
    base = (root / folder).resolve()
    try:
        file = (root / rel).resolve(strict=True)
    except OSError:
        return None
    return file if file.is_file() and file.is_relative_to(base) else None


async def signed_in(app: Any, request: Request) -> bool:
    """Whether ``request`` may have the files: always without auth; else as Gradio's own routes
    decide (its ``get_current_user``: the user of the request's access-token cookie). A Gradio that
    changed how it signs users in refuses the files, which the route's tests notice."""
    if app.auth is None and app.auth_dependency is None:
        return True
    if app.auth_dependency is not None:
        user = app.auth_dependency(request)
        return (await user if inspect.isawaitable(user) else user) is not None
    cookies = request.cookies
    token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(f"access-token-unsecure-{app.cookie_id}")
    return app.tokens.get(token) is not None


def mount(app: Any, root: Path = STATIC) -> None:
    """Add the ``/studio-static/`` route to Gradio's ``app`` (before Gradio adds its own)."""
    async def serve(path: str, request: Request) -> Response:
        if not await signed_in(app, request):
            return PlainTextResponse("Not authenticated: sign in to studio first.", status_code=401)
        file = resolve(path, root)
        if file is None:
            return PlainTextResponse("Not found.", status_code=404)
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        response = FileResponse(file, media_type=MEDIA_TYPES[file.suffix.lower()], headers=headers,
                                stat_result=file.stat())
        if request.headers.get("if-none-match") == response.headers["etag"]:  # the browser's copy is current
            return Response(status_code=304, headers={"etag": response.headers["etag"], **headers})
        return response

    app.add_api_route(f"{URL}/{{path:path}}", serve, methods=["GET", "HEAD"], include_in_schema=False)
