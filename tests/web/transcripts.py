"""Reading the live page's transcript and comparing it with the server's."""

from __future__ import annotations

from typing import Any

ANSWER = (
    "First I would pin down the requirements and the read and write patterns. Then I would pick "
    "the data model, add an index for the hot query, and put a cache in front of PostgreSQL with "
    "explicit invalidation. In my last role this cut p99 latency from 900 ms to 120 ms; the "
    "trade-off was extra memory and more moving parts, which we measured and accepted."
)
DOM_TRANSCRIPT = """() => [...document.querySelectorAll('#transcript [data-seq]')].map((item) => ({
    seq: Number(item.dataset.seq),
    type: item.dataset.type,
    text: item.querySelector('.item-text')?.textContent ?? null,
}))"""


def expected_transcript(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the page must show for the server's transcript: every event once, in seq order,
    with the full text of each question, answer and feedback."""
    texts = {"question": "text", "answer": "text", "evaluation": "feedback"}
    return [
        {"seq": item["seq"], "type": item["type"], "text": item[texts[item["type"]]]}
        if item["type"] in texts
        else {"seq": item["seq"], "type": item["type"]}
        for item in items
    ]


async def page_transcript(page: Any) -> list[dict[str, Any]]:
    shown = await page.evaluate(DOM_TRANSCRIPT)
    return [
        entry
        if entry["type"] in ("question", "answer", "evaluation")
        else {"seq": entry["seq"], "type": entry["type"]}
        for entry in shown
    ]
