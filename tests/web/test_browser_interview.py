"""A whole interview in Chromium: sign up, upload a resume by drag and drop and watch it parse,
run the interview while an observer follows from a second browser context, lose the network
twice on the way (once mid-stream, once while sending an answer), and read the report. The
page's transcript must end up exactly the server's: nothing lost, nothing doubled."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import RunningServer, random_email
from tests.resumes.factory import BACKEND_ENGINEER, png_bytes, resume_pdf
from tests.web.conftest import DESKTOP, PHONE, PageWatch, screenshot
from tests.web.transcripts import ANSWER, expected_transcript, page_transcript

pytestmark = pytest.mark.browser

PASSWORD = "Granite-orchard-compass-31"
NOTE = "Clear structure. Push for one more concrete number next time."
OFFLINE_SECONDS = 3


async def drop_file(page: Any, selector: str, name: str, content: bytes, mime: str) -> None:
    """Drag a file onto an element the way a browser delivers it: dragenter, dragover, drop."""
    await page.evaluate(
        """([selector, name, payload, mime]) => {
            const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            const target = document.querySelector(selector);
            const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
            for (const type of ["dragenter", "dragover", "drop"]) {
                target.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [selector, name, base64.b64encode(content).decode(), mime],
    )


async def wait_connected(page: Any) -> None:
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=20_000)


async def test_a_whole_interview_with_an_observer_and_two_network_cuts(
    browser: Any,
    web_server: RunningServer,
    web_worker: Any,
) -> None:
    base = web_server.base_url
    watch = PageWatch()
    candidate = await browser.new_context(viewport=DESKTOP)
    page = watch.attach(await candidate.new_page())
    address = random_email()

    # ---- sign up ---------------------------------------------------------------------------
    await page.goto(f"{base}/register")
    await page.get_by_label("Full name").fill("Grace Hopper")
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(f"{base}/")
    token = await page.evaluate(
        "JSON.parse(sessionStorage.getItem('interviewace.session')).tokens.access_token"
    )
    api = httpx.AsyncClient(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )

    # ---- upload a resume by drag and drop; the bar follows the parsing task -----------------
    task_polls: list[str] = []
    page.on(
        "request", lambda request: task_polls.append(request.url) if "/api/v1/tasks/" in request.url else None
    )
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Resumes").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Resumes")
    await expect(page.locator(".resume-list > li")).to_have_count(0)
    await drop_file(page, "#dropzone", "holiday.pdf", png_bytes(), "application/pdf")
    await expect(page.locator(".alert-error")).to_have_text(
        "That file is not a PDF or a Word (.docx) document."
    )
    await expect(page.locator(".resume-list > li")).to_have_count(0)
    await drop_file(page, "#dropzone", "marta-kowalczyk.pdf", resume_pdf(BACKEND_ENGINEER), "application/pdf")
    await expect(page.locator(".alert-error")).to_be_hidden()
    card = page.locator(".resume-card").first
    await expect(card.locator(".resume-name")).to_have_text("marta-kowalczyk.pdf")
    await screenshot(page, "desktop-resume-uploading")
    await expect(card).to_have_attribute("data-status", "parsed", timeout=60_000)
    assert task_polls, "the progress bar is fed by GET /tasks/{id}"
    await expect(card.locator("progress")).to_be_hidden()
    await card.get_by_role("button", name="Show profile").click()
    profile = card.locator(".resume-profile")
    await expect(profile.locator(".profile-name")).to_have_text(BACKEND_ENGINEER.name)
    for skill in BACKEND_ENGINEER.skills_expected[:3]:
        await expect(profile.locator(".chip", has_text=skill).first).to_be_visible()
    await screenshot(page, "desktop-resumes")
    resume_id = await card.get_attribute("data-resume-id")

    # ---- a new interview with that resume ---------------------------------------------------
    await card.get_by_role("link", name="Practise with it").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New interview")
    tracks = (await api.get("/interviews/tracks")).json()
    options = await page.get_by_label("Track").locator("option").all_inner_texts()
    assert len(options) == len(tracks["tracks"]), "the options come from GET /interviews/tracks"
    await expect(page.get_by_label("Resume")).to_have_value(resume_id or "")
    await page.get_by_label("Track").select_option("backend")
    await page.get_by_label("Company style").select_option("startup")
    await page.get_by_label("Number of questions").fill("25")
    await page.get_by_role("button", name="Create interview").click()
    await expect(page.get_by_label("Number of questions")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Number of questions").fill("2")
    await page.get_by_label("Job description (optional)").fill(
        "Backend engineer for a payments platform: PostgreSQL, Redis, Kafka, Python services."
    )
    await screenshot(page, "desktop-new-interview")
    await page.get_by_role("button", name="Create interview").click()
    await page.wait_for_url(re.compile(rf"{re.escape(base)}/interviews/[0-9a-f-]{{36}}$"))
    interview_id = page.url.rsplit("/", 1)[1]
    created = (await api.get(f"/interviews/{interview_id}")).json()
    assert (created["resume_id"], created["company_style"], created["question_count"]) == (
        resume_id,
        "startup",
        2,
    )
    await wait_connected(page)
    await expect(page.locator(".progress-label")).to_have_text("Not started · 2 questions")
    await screenshot(page, "desktop-interview-ready")

    # ---- an observer joins from a second browser, with the token only in the fragment -------
    await page.get_by_role("button", name="Invite an observer").click()
    link = await page.get_by_label("Share this link with your observer").input_value()
    assert link.startswith(f"{base}/watch/{interview_id}#token=obs_")
    observer_watch = PageWatch()
    observer_context = await browser.new_context(viewport=DESKTOP)
    observer = observer_watch.attach(await observer_context.new_page())
    await observer.goto(link)
    await wait_connected(observer)
    assert observer.url == f"{base}/watch/{interview_id}", "the token leaves the address bar"
    await expect(observer.locator(".presence")).to_have_text("Candidate connected · 1 observer watching")
    await expect(page.locator(".presence")).to_have_text("1 observer watching")

    # ---- the interview ----------------------------------------------------------------------
    hellos: list[dict[str, Any]] = []

    def watch_socket(socket: Any) -> None:
        def sent(payload: str | bytes) -> None:
            frame = json.loads(payload)
            if frame.get("type") == "hello":
                hellos.append(frame)

        socket.on("framesent", sent)

    page.on("websocket", watch_socket)
    await page.get_by_role("button", name="Start interview").click()
    answer_box = page.get_by_label("Your answer")
    answered = 0
    while True:
        finished = page.locator("#report")
        ready = page.locator("#answer-text:not([disabled])")
        await expect(finished.or_(ready)).to_be_visible(timeout=30_000)
        if await finished.count():
            break
        await answer_box.fill(ANSWER)
        if answered == 0:
            await screenshot(page, "desktop-interview-answering")
            # Cut 1: the network goes while the feedback streams; the server carries on.
            await answer_box.press("Control+Enter")
            await expect(page.locator("[data-type=answer]")).to_have_count(1)
            await candidate.set_offline(True)
            await expect(page.locator(".conn")).to_have_attribute("data-state", "offline")
            held = max(entry["seq"] for entry in await page_transcript(page))
            await screenshot(page, "desktop-interview-offline")
            await page.wait_for_timeout(OFFLINE_SECONDS * 1000)
            missed = (await api.get(f"/interviews/{interview_id}/transcript")).json()["items"][held:]
            assert missed, "the server went on while the page was offline"
            await candidate.set_offline(False)
            await wait_connected(page)
            assert hellos[-1]["last_seq"] == held, "the page resumed from the last event it held"
            await expect(page.locator(f'[data-seq="{missed[-1]["seq"]}"]')).to_have_count(1)
        elif answered == 1:
            # Cut 2: the answer is sent while offline; it goes out once the socket is back.
            await candidate.set_offline(True)
            await expect(page.locator(".conn")).to_have_attribute("data-state", "offline")
            await answer_box.press("Control+Enter")
            await expect(page.locator("[data-pending]")).to_have_count(1)
            await expect(page.locator(".answer-status")).to_have_text(
                "Will send when the connection is back."
            )
            await page.wait_for_timeout(1000)
            await candidate.set_offline(False)
            await wait_connected(page)
            await expect(page.locator("[data-pending]")).to_have_count(0)
            await expect(page.locator("[data-type=answer]")).to_have_count(2)
            await observer.get_by_label("Private note").fill(NOTE)
            await observer.get_by_label("Private note").press("Control+Enter")
            await expect(observer.locator("#notes .note")).to_have_count(1)
        else:
            await answer_box.press("Control+Enter")
        answered += 1
        await expect(page.locator("[data-type=answer]")).to_have_count(answered, timeout=20_000)
        assert answered < 12, "the interview should end after two questions and their follow-ups"

    # ---- the report -------------------------------------------------------------------------
    report = (await api.get(f"/interviews/{interview_id}/report")).json()
    section = page.locator("#report")
    await expect(section.locator(".overall-value")).to_have_text(f"{report['overall_score']:.1f}")
    bars = section.locator(".report-chart .chart-bar")
    await expect(bars).to_have_count(len(report["criteria"]))
    for name, score in report["criteria"].items():
        await expect(section.locator(f'.report-chart .chart-bar[data-criterion="{name}"]')).to_have_attribute(
            "data-score", str(int(score)) if float(score).is_integer() else str(score)
        )
    await expect(section.locator(".report-question")).to_have_count(len(report["questions"]))
    assert all(question["model_answer"] for question in report["questions"])
    await section.locator(".report-question summary").first.click()
    await expect(section.locator(".report-question").first).to_contain_text("What a strong answer covers")
    await expect(section.locator(".notes-list")).to_contain_text(NOTE)
    await expect(page.get_by_role("heading", name="Transcript")).to_be_visible()
    for strength in report["strengths"]:
        await expect(section).to_contain_text(strength)
    await screenshot(page, "desktop-interview-report")

    # ---- nothing lost, nothing doubled ------------------------------------------------------
    transcript = (await api.get(f"/interviews/{interview_id}/transcript")).json()["items"]
    assert [item["seq"] for item in transcript] == list(range(1, len(transcript) + 1))
    expected = expected_transcript(transcript)
    assert await page_transcript(page) == expected
    assert await page.locator("[data-stream], [data-pending]").count() == 0
    assert sum(1 for item in transcript if item["type"] == "answer") == answered

    await expect(observer.locator("#report")).to_be_visible()
    await expect(observer.locator(".conn")).to_have_attribute("data-state", "ended")
    assert await page_transcript(observer) == expected
    await expect(observer.locator("#transcript [data-type=answer]").first).to_contain_text(
        "Candidate's answer"
    )
    await screenshot(observer, "desktop-observer")

    # ---- a reload rebuilds the finished interview from the API -------------------------------
    await page.reload()
    await expect(page.locator("#report")).to_be_visible()
    assert await page_transcript(page) == expected

    # ---- history: the trend per criterion from GET /me/progress -----------------------------
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("History")
    progress = (await api.get("/me/progress")).json()
    assert progress["total"] == 1
    cards = page.locator(".trend-card")
    await expect(cards).to_have_count(1 + len(progress["items"][0]["criteria"]))
    await expect(cards.first.locator(".score-chip")).to_have_text(
        f"{progress['items'][0]['overall_score']:.1f}"
    )
    await expect(page.locator(f'tr[data-interview-id="{interview_id}"]')).to_contain_text("Completed")
    await screenshot(page, "desktop-history")

    # ---- tokens stay out of URLs; the CSP was never violated ---------------------------------
    for url in watch.request_urls + observer_watch.request_urls:
        assert "token" not in url.lower() and token not in url, url
    watch.assert_clean()
    observer_watch.assert_clean()

    # ---- the same pages at phone width --------------------------------------------------------
    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone_page = watch.attach(await phone.new_page())
    await phone_page.goto(f"{base}/login")
    await phone_page.get_by_label("Email").fill(address)
    await phone_page.get_by_label("Password").fill(PASSWORD)
    await phone_page.get_by_role("button", name="Sign in").click()
    await phone_page.wait_for_url(f"{base}/")
    for path, name in [
        ("/", "phone-home"),
        ("/resumes", "phone-resumes"),
        ("/interviews/new", "phone-new-interview"),
        (f"/interviews/{interview_id}", "phone-interview-report"),
        ("/history", "phone-history"),
    ]:
        await phone_page.goto(f"{base}{path}")
        await expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
        await phone_page.wait_for_load_state("networkidle")
        await screenshot(phone_page, name)
        width = await phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} overflows sideways on a phone ({width}px)"
    phone_observer = watch.attach(await phone.new_page())
    await phone_observer.goto(link)
    await expect(phone_observer.locator("#report")).to_be_visible()
    await expect(phone_observer.locator("#notes .note")).to_contain_text(NOTE)
    await screenshot(phone_observer, "phone-observer")
    watch.assert_clean()
    await api.aclose()
