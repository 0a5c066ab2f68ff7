"""The browser client as served over HTTP: the page shell, hashed assets, strict CSP, and the
API's own 404s left untouched."""

from __future__ import annotations

import re
import shutil
import uuid
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from server.web.routes import PAGE_PATHS, STATIC_DIR, asset_version
from tests.conftest import decode

PAGES = [
    "/",
    "/login",
    "/register",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/resumes",
    "/interviews/new",
    f"/interviews/{uuid.uuid4()}",
    f"/watch/{uuid.uuid4()}",
    "/history",
]


class ShellParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.inline_script = False
        self.style_attributes: list[str] = []
        self.event_attributes: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, _ in attrs:
            if name == "style":
                self.style_attributes.append(tag)
            if name.startswith("on"):
                self.event_attributes.append(f"{tag}[{name}]")
        if tag == "script":
            self.scripts.append(values)
            self._in_script = True
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.stylesheets.append(values["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def test_every_client_page_path_is_served() -> None:
    served = {re.sub(r"\{[^}]+\}", "x", path) for path in PAGE_PATHS}
    wanted = {re.sub(r"/[0-9a-f-]{36}$", "/x", path) for path in PAGES}
    assert served == wanted


@pytest.mark.parametrize("path", PAGES)
async def test_pages_answer_the_shell_with_a_strict_policy(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "http" not in csp, "no other origin may serve code or styles"
    parser = ShellParser()
    parser.feed(response.text)
    assert not parser.inline_script
    assert parser.style_attributes == []
    assert parser.event_attributes == []
    assert [script.get("type") for script in parser.scripts] == ["module"]
    assert all((script.get("src") or "").startswith("/static/") for script in parser.scripts)


async def test_assets_live_under_a_content_hash_and_are_cached_for_good(client: httpx.AsyncClient) -> None:
    parser = ShellParser()
    parser.feed((await client.get("/")).text)
    script = parser.scripts[0]["src"] or ""
    version = asset_version(STATIC_DIR)
    assert script == f"/static/{version}/js/app.js"
    expected_types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for path in sorted(STATIC_DIR.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(STATIC_DIR).as_posix()
        response = await client.get(f"/static/{version}/{relative}")
        assert response.status_code == 200, relative
        assert response.content == path.read_bytes()
        assert response.headers["content-type"].startswith(expected_types[path.suffix]), relative
        assert "immutable" in response.headers["cache-control"]
        assert response.headers["x-content-type-options"] == "nosniff"
    stale = await client.get("/static/000000000000/js/app.js")
    assert stale.status_code == 404


def test_the_asset_hash_changes_with_any_asset_and_only_then(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(STATIC_DIR, copy)
    assert asset_version(copy) == asset_version(STATIC_DIR), "depends on names and contents only"
    script = copy / "js" / "app.js"
    script.write_bytes(script.read_bytes() + b"\n")
    changed = asset_version(copy)
    assert changed != asset_version(STATIC_DIR)
    (copy / "js" / "app.js").rename(copy / "js" / "main.js")
    assert asset_version(copy) != changed, "a renamed file changes it too"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/api/v1/interviews/nope/deeper",
        "/api/v1/login",
        "/api/v1/history",
        "/api/v1/static/x",
    ],
)
async def test_unknown_api_paths_still_answer_problem_details(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert decode(response)["code"] == "not_found"


@pytest.mark.parametrize("path", ["/interviews/not-an-id", "/watch/", "/nothing-here", "/login/extra"])
async def test_paths_that_are_no_page_are_not_found(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404


async def test_pages_need_no_token_and_are_not_rate_limited(client: httpx.AsyncClient) -> None:
    # The API allows 120 requests a minute per client; page loads must not count against it.
    for _ in range(130):
        response = await client.get("/history")
        assert response.status_code == 200


SCRIPT_HAZARDS = {
    "innerHTML": "builds markup from strings (text from the API could become markup)",
    "outerHTML": "builds markup from strings",
    "insertAdjacentHTML": "builds markup from strings",
    "document.write": "writes markup from strings",
    "eval(": "runs strings as code (forbidden by the CSP)",
    "new Function": "runs strings as code (forbidden by the CSP)",
    'setAttribute("style"': "inline styles are refused by the CSP",
    "cssText": "inline styles are refused by the CSP",
    "localStorage": "tokens belong in memory and sessionStorage only",
    "http://": "no other origin may be contacted",
    "https://": "no other origin may be contacted",
}


def test_client_code_keeps_to_the_policy() -> None:
    offences = []
    for path in sorted(STATIC_DIR.rglob("*.js")):
        # The SVG namespace is a name, not an address anything is fetched from.
        text = path.read_text(encoding="utf-8").replace('"http://www.w3.org/2000/svg"', "")
        for needle, why in SCRIPT_HAZARDS.items():
            if needle in text:
                offences.append(f"{path.relative_to(STATIC_DIR)}: {needle} ({why})")
    assert offences == []
    css = (STATIC_DIR / "css" / "app.css").read_text(encoding="utf-8")
    assert "@import" not in css
    assert "url(http" not in css
