"""The browser client: one HTML shell for every page, and its static CSS and JavaScript modules.

The pages are rendered in the browser from the API (no build step, no framework). Assets live
under a path that carries a hash of their contents, so browsers may cache them for good and a
new release is picked up as soon as the (never cached) shell names the new path. Module imports
inside the JavaScript are relative, so they resolve under the same hashed path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.handlers import BaseRouteHandler
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).parent / "static"
SHELL_FILE = Path(__file__).parent / "shell.html"
ASSET_PLACEHOLDER = "__ASSETS__"

# Every path the client renders. Anything else outside /api/v1 is a plain 404, and unknown
# /api/v1 paths keep answering problem details because nothing here reaches under /api.
PAGE_PATHS = (
    "/",
    "/login",
    "/register",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/resumes",
    "/interviews/new",
    "/interviews/{interview_id:uuid}",
    "/watch/{interview_id:uuid}",
    "/history",
)

# Authentication and the per-user rate limit sit on the API router, so they never see these
# routes; the opt-outs say so anyway, should those middlewares ever move to the whole app.
PUBLIC_OPT: dict[str, Any] = {"exclude_from_auth": True, "skip_rate_limit": True}


def asset_version(root: Path) -> str:
    """A short digest of the names and contents of every file under `root`: it changes whenever
    any asset does, and only then."""
    digest = hashlib.sha256()
    for path in sorted(path for path in root.rglob("*") if path.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def build_web_routes() -> list[BaseRouteHandler | Router]:
    """The shell for every page path plus the hashed static tree; register outside /api/v1."""
    assets_path = f"/static/{asset_version(STATIC_DIR)}"
    shell = SHELL_FILE.read_text(encoding="utf-8").replace(ASSET_PLACEHOLDER, assets_path).encode()

    @get(
        list(PAGE_PATHS),
        name="web-page",
        include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True),
        opt=PUBLIC_OPT,
        sync_to_thread=False,
    )
    def page() -> Response[bytes]:
        return Response(content=shell, media_type=MediaType.HTML)

    static = create_static_files_router(
        path=assets_path,
        directories=[STATIC_DIR],
        name="web-assets",
        cache_control=CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True),
        opt=PUBLIC_OPT,
        include_in_schema=False,
    )
    return [page, static]
