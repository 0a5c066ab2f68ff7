"""The parsing job: upload many resumes at once and time how fast the worker parses them."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from typing import Any

import httpx

from bench.loadgen.api import Api, User, make_users, run_tag
from bench.loadgen.control import Control, log
from bench.loadgen.documents import Document, resume
from bench.loadgen.peers import latency_ms_summary

RESUMES_PER_USER = 10  # below the server's quota of resumes per account
DONE = ("parsed", "failed")
PROFILE_SECONDS = 20  # with --profile: sample the job worker (and its parser subprocesses) this long


async def parsing(job: dict[str, Any], control: Control) -> dict[str, Any]:
    count = int(job["resumes"])
    api = Api(job["base_url"], connections=count + 10)
    try:
        users = await make_users(api, -(-count // RESUMES_PER_USER), f"parse-{run_tag()}")
        documents = await asyncio.to_thread(lambda: [resume(n) for n in range(count)])
        await control.checkpoint(
            "phase",
            {"name": "uploads", "profile_seconds": PROFILE_SECONDS, "profile_roles": ["worker", "api"]},
        )
        started_wall = time.time()
        started = time.monotonic()
        uploads = await asyncio.gather(
            *(_upload(api, users[n % len(users)], doc) for n, doc in enumerate(documents))
        )
        uploaded_seconds = time.monotonic() - started
        accepted = [u for u in uploads if u["status"] == 202 and u["id"]]
        statuses = Counter(str(u["status"]) for u in uploads)
        if not accepted:
            return {
                "unavailable": f"no upload was accepted: {dict(statuses)}",
                "upload_statuses": dict(statuses),
            }
        log(f"{len(accepted)} uploads accepted in {uploaded_seconds:.1f}s; waiting for parsing")
        finished = await _wait_parsed(api, users, {u["id"] for u in accepted}, float(job["wait_seconds"]))
    finally:
        await api.aclose()
    parsed = [r for r in finished.values() if r["status"] == "parsed" and r.get("parsed_at")]
    failed = [r for r in finished.values() if r["status"] == "failed"]
    parsed_at = sorted(_timestamp(r["parsed_at"]) for r in parsed)
    seconds_to_parse = [at - started_wall for at in parsed_at]
    span = parsed_at[-1] - started_wall if parsed_at else None
    steady = (len(parsed_at) - 1) / (parsed_at[-1] - parsed_at[0]) if len(parsed_at) > 1 else None
    return {
        "resumes": count,
        "accepted": len(accepted),
        "upload_statuses": dict(statuses),
        "upload_seconds": round(uploaded_seconds, 2),
        "parsed": len(parsed),
        "failed": len(failed),
        "failures": dict(Counter(str(r.get("error")) for r in failed)),
        "unfinished": len(accepted) - len(finished),
        "seconds_to_last": round(span, 2) if span is not None else None,
        "parsed_per_s": round(len(parsed_at) / span, 2) if span else None,
        "steady_parsed_per_s": round(steady, 2) if steady else None,
        "time_to_parsed": latency_ms_summary(seconds_to_parse),
        "timeline": [round(s, 3) for s in seconds_to_parse],
    }


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def _upload(api: Api, user: User, document: Document) -> dict[str, Any]:
    try:
        response = await api.request(
            "POST",
            "/resumes",
            files={"file": (document.filename, document.data, document.content_type)},
            headers=api.auth(user.token),
        )
    except httpx.HTTPError as exc:
        return {"status": type(exc).__name__, "id": None}
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return {"status": response.status_code, "id": (body.get("resume") or {}).get("id")}


async def _wait_parsed(
    api: Api, users: list[User], wanted: set[str], limit_seconds: float
) -> dict[str, dict[str, Any]]:
    """Poll each account's resume list until every wanted resume is parsed or failed."""
    finished: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline and len(finished) < len(wanted):
        await asyncio.sleep(1.0)
        pages = await asyncio.gather(
            *(api.client.get("/resumes", params={"limit": 100}, headers=api.auth(u.token)) for u in users),
            return_exceptions=True,
        )
        for page in pages:
            # A keep-alive connection the server closed as it was reused fails once: next round.
            if isinstance(page, BaseException) or page.status_code != 200:
                continue
            for item in page.json()["items"]:
                if item["id"] in wanted and item["status"] in DONE:
                    finished[item["id"]] = item
    return finished
