"""Two API processes on one PostgreSQL and Redis: fan-out across processes, and an interview
surviving the death of the process that was streaming it (websocket.md "Guarantees")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server.core.embedded import free_tcp_port
from tests.conftest import decode
from tests.interviews.wsclient import STRONG_ANSWER, InterviewSocket

pytestmark = pytest.mark.slow


class AppProcess:
    def __init__(self, **settings: str) -> None:
        self.port = free_tcp_port()
        env = dict(os.environ)
        env.update({key.upper(): value for key, value in settings.items()})
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "server.core.app:create_server_process_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ws-per-message-deflate",
                "false",
                "--ws-max-size",
                "65536",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("app process did not become ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def two_processes(database: None) -> Iterator[tuple[AppProcess, AppProcess]]:
    # Slow streams so that a process can be killed mid-question; short leases so that the work
    # moves to the surviving process quickly.
    settings = {"offline_tokens_per_second": "40", "interview_lease_seconds": "2"}
    first = AppProcess(**settings)
    try:
        second = AppProcess(**settings)
    except Exception:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [frame["seq"] for frame in frames if "seq" in frame]


async def test_candidate_survives_the_death_of_its_process(
    two_processes: tuple[AppProcess, AppProcess],
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    a, b = two_processes
    user = await user_factory()
    interview = await create_interview(user.headers, question_count=2)
    token = decode(
        await client.post(f"/api/v1/interviews/{interview['id']}/observers", headers=user.headers)
    )["observer_token"]

    candidate = await InterviewSocket.open(a.ws_url, interview["id"], user.access_token)
    await candidate.recv_until("welcome")
    observer = await InterviewSocket.open(b.ws_url, interview["id"], token)
    await observer.recv_until("welcome")

    await candidate.send({"type": "start"})
    cut = await candidate.recv_until("question.delta")
    # The observer on the other process sees the same stream: fan-out goes through Redis.
    await observer.recv_until("question.delta", question_id=cut["question_id"])
    a.kill()
    assert await candidate.closed_with(timeout=10) != 1000

    seen = max(seqs(candidate.frames), default=0)
    resumed = await InterviewSocket.open(b.ws_url, interview["id"], user.access_token, last_seq=seen)
    await resumed.recv_until("welcome")
    completed = None
    while completed is None:
        frame = await resumed.recv(30)
        if frame["type"] == "question":
            await resumed.send(
                {
                    "type": "answer",
                    "client_id": uuid.uuid4().hex,
                    "question_id": frame["question_id"],
                    "text": STRONG_ANSWER,
                }
            )
        elif frame["type"] == "interview.completed":
            completed = frame
    await observer.recv_until("interview.completed")

    candidate_seqs = seqs(candidate.frames) + seqs(resumed.frames)
    assert candidate_seqs == list(range(1, completed["seq"] + 1)), "nothing lost or doubled for the candidate"
    assert seqs(observer.frames) == list(range(1, completed["seq"] + 1)), (
        "nothing lost or doubled for the observer"
    )

    # The question that was cut mid-stream was streamed again from offset 0 by the survivor.
    all_frames = candidate.frames + resumed.frames
    cut_question = next(
        f for f in all_frames if f["type"] == "question" and f["question_id"] == cut["question_id"]
    )
    rebuilt = InterviewSocket(resumed.connection)
    rebuilt.frames = all_frames
    assert rebuilt.streamed_text("question.delta", "question_id")[cut["question_id"]] == cut_question["text"]
    assert observer.streamed_text("question.delta", "question_id")[cut["question_id"]] == cut_question["text"]

    transcript = decode(
        await client.get(f"/api/v1/interviews/{interview['id']}/transcript", headers=user.headers)
    )
    assert seqs(transcript["items"]) == list(range(1, completed["seq"] + 1))
