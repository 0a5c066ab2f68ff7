"""The question bank's REST routes through a real server and database (api.md "Question bank and
single-question practice"). The bank is seeded once per session by the real start-up task."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from server.llm.types import CRITERIA, RUBRIC_VERSION
from server.questions.bank import BankQuestion, get_bank
from tests.conftest import UserAccount, decode

pytestmark = pytest.mark.usefixtures("seeded_questions")

UserFactory = Callable[..., Awaitable[UserAccount]]

PUBLIC_FIELDS = {"id", "track", "difficulty", "topic", "tags", "company_styles", "style", "warmup", "text"}
EVALUATION_FIELDS = {
    "question_id",
    "score",
    "criteria",
    "feedback",
    "strengths",
    "improvements",
    "covered_points",
    "missed_points",
    "provider",
    "model",
    "rubric_version",
}

PRACTICE_SLUG = "backend-cache-aside-redis"

# Answers written for this test to the cache-aside question.
STRONG_ANSWER = """
With cache-aside the application owns the cache. On a read I look the key up in Redis first; on a
cache miss I load the row from PostgreSQL, populate Redis with it using SET with a TTL of a few
minutes, and return it. When the data changes I write to the database first and then invalidate
the cache by deleting the key, instead of writing the new value into Redis, so the next read
fills the cache from the source of truth. The TTL is a safety net: if an invalidation is lost,
the entry still expires and staleness is bounded. What can go wrong: a race condition where a
slow reader puts an old value back right after a writer deleted the key, leaving stale data until
expiry; a stampede on a hot key when it expires and hundreds of requests hit the database at once;
and accidentally caching errors or empty results. I only cache expensive, read-heavy queries and
watch the hit rate, for example we moved a product page from 40% to 95% hit rate this way.
"""
WEAK_ANSWER = """
You put things in Redis so that they are faster to get. If something changes you need to update
Redis too, otherwise it might be wrong. Sometimes caching can cause problems.
"""
OFF_TOPIC_ANSWER = """
Last spring I organised a charity bake sale for the local library. We baked about two hundred
cookies, set up tables in the town square and raised enough money to buy forty new children's
books, and the volunteers enjoyed it so much that we now run it every year.
"""


@pytest.fixture
async def user(user_factory: UserFactory) -> UserAccount:
    return await user_factory()


def _sort_key(question: BankQuestion) -> tuple[str, int, str]:
    return (question.track, question.difficulty, question.slug)


def _public(question: BankQuestion) -> dict[str, Any]:
    return {
        "id": str(question.id),
        "track": question.track,
        "difficulty": question.difficulty,
        "topic": question.topic,
        "tags": list(question.tags),
        "company_styles": list(question.company_styles),
        "style": question.style,
        "warmup": question.warmup,
        "text": question.text,
    }


def _matches_words(question: BankQuestion, query: str) -> bool:
    """What `q` is documented to do: every word appears (any case) in text, topic or a tag."""
    fields = [question.text.lower(), question.topic.lower(), *(tag.lower() for tag in question.tags)]
    return all(any(word.lower() in field for field in fields) for word in query.split())


async def _all_pages(client: httpx.AsyncClient, user: UserAccount, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    skip = 0
    while True:
        response = await client.get(
            "/api/v1/questions", params={**params, "skip": skip, "limit": 100}, headers=user.headers
        )
        assert response.status_code == 200, response.text
        page = decode(response)
        items += page["items"]
        if not page["has_more"]:
            assert len(items) == page["total"]
            return items
        skip += 100


async def test_the_list_pages_through_the_whole_bank_in_order(
    client: httpx.AsyncClient, user: UserAccount
) -> None:
    bank = get_bank()
    first = await client.get("/api/v1/questions", headers=user.headers)
    assert first.status_code == 200
    page = decode(first)
    assert (page["skip"], page["limit"], page["total"], page["has_more"]) == (0, 20, len(bank), True)
    assert len(page["items"]) == 20

    expected = [_public(question) for question in sorted(bank, key=_sort_key)]
    assert await _all_pages(client, user) == expected


async def test_pagination_bounds(client: httpx.AsyncClient, user: UserAccount) -> None:
    total = len(get_bank())
    for params in ({"limit": 0}, {"limit": 101}, {"skip": -1}, {"limit": "many"}):
        response = await client.get("/api/v1/questions", params=params, headers=user.headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert decode(response)["code"] == "validation_error"

    last = decode(
        await client.get("/api/v1/questions", params={"skip": total - 3, "limit": 5}, headers=user.headers)
    )
    assert (len(last["items"]), last["total"], last["has_more"]) == (3, total, False)
    beyond = decode(await client.get("/api/v1/questions", params={"skip": total + 10}, headers=user.headers))
    assert (beyond["items"], beyond["total"], beyond["has_more"]) == ([], total, False)
    exact = decode(await client.get("/api/v1/questions", params={"limit": 100}, headers=user.headers))
    assert (len(exact["items"]), exact["has_more"]) == (100, True)


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"track": "backend"}, lambda q: q.track == "backend"),
        (
            {"track": "system_design", "difficulty": 4},
            lambda q: q.track == "system_design" and q.difficulty == 4,
        ),
        ({"difficulty": 5}, lambda q: q.difficulty == 5),
        ({"topic": "caching"}, lambda q: q.topic == "caching"),
        ({"company_style": "fintech"}, lambda q: "fintech" in q.company_styles),
        (
            {"track": "frontend", "company_style": "startup", "difficulty": 2},
            lambda q: q.track == "frontend" and "startup" in q.company_styles and q.difficulty == 2,
        ),
        ({"track": "Backend "}, lambda q: q.track == "backend"),  # case and spaces do not matter
        ({"track": "", "company_style": "", "q": " "}, lambda q: True),  # empty means "any"
    ],
)
async def test_filters_return_exactly_the_matching_questions(
    client: httpx.AsyncClient, user: UserAccount, params: dict[str, Any], keep: Callable[[BankQuestion], bool]
) -> None:
    expected = [_public(q) for q in sorted(get_bank(), key=_sort_key) if keep(q)]
    assert expected, "the filter should match something in the shipped bank"
    assert await _all_pages(client, user, **params) == expected


@pytest.mark.parametrize(
    "query",
    [
        "REDIS",  # case-insensitive; matches tags and text
        "cache invalidation",  # every word must match, not the phrase
        "idempotent",
        "incident-response",  # a topic
        "kubernetes",
        "%",  # LIKE wildcards are literal characters, not "anything"
        "_",
        "99.9%",
    ],
)
async def test_search_finds_every_word_in_text_topic_or_tags(
    client: httpx.AsyncClient, user: UserAccount, query: str
) -> None:
    expected = [_public(q) for q in sorted(get_bank(), key=_sort_key) if _matches_words(q, query)]
    assert await _all_pages(client, user, q=query) == expected


async def test_search_reaches_tags_that_the_text_does_not_mention(
    client: httpx.AsyncClient, user: UserAccount
) -> None:
    bank = get_bank()
    tag, question = next(
        (tag, q) for q in bank for tag in q.tags if tag not in q.text.lower() and tag not in q.topic
    )
    found = await _all_pages(client, user, q=tag.upper())
    assert str(question.id) in {item["id"] for item in found}


async def test_search_combines_with_filters(client: httpx.AsyncClient, user: UserAccount) -> None:
    expected = [
        _public(q)
        for q in sorted(get_bank(), key=_sort_key)
        if q.track == "backend" and _matches_words(q, "postgresql")
    ]
    assert expected
    assert await _all_pages(client, user, track="backend", q="postgresql") == expected


async def test_bad_filters_are_all_refused_at_once(client: httpx.AsyncClient, user: UserAccount) -> None:
    response = await client.get(
        "/api/v1/questions",
        params={"track": "astrology", "difficulty": 6, "company_style": "circus"},
        headers=user.headers,
    )
    assert response.status_code == 422
    problem = decode(response)
    assert problem["code"] == "validation_error"
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert set(messages) == {"track", "difficulty", "company_style"}
    assert "backend" in messages["track"]  # the valid choices are listed
    assert "between 1 and 5" in messages["difficulty"]
    assert "fintech" in messages["company_style"]

    for params in ({"difficulty": 0}, {"difficulty": "hard"}, {"q": "x" * 201}):
        refused = await client.get("/api/v1/questions", params=params, headers=user.headers)
        assert refused.status_code == 422, params
        assert decode(refused)["errors"][0]["field"] == next(iter(params))


async def test_unknown_topic_is_an_empty_page_not_an_error(
    client: httpx.AsyncClient, user: UserAccount
) -> None:
    response = await client.get(
        "/api/v1/questions", params={"topic": "underwater-basket-weaving"}, headers=user.headers
    )
    assert response.status_code == 200
    assert decode(response)["total"] == 0


async def test_one_question_without_key_points_or_model_answer(
    client: httpx.AsyncClient, user: UserAccount
) -> None:
    question = get_bank().by_slug(PRACTICE_SLUG)
    response = await client.get(f"/api/v1/questions/{question.id}", headers=user.headers)
    assert response.status_code == 200
    assert decode(response) == _public(question)
    assert set(decode(response)) == PUBLIC_FIELDS


async def test_no_response_carries_key_points_or_model_answers(
    client: httpx.AsyncClient, user: UserAccount
) -> None:
    bank = get_bank()
    # Whole model-answer sentences never occur in question texts by chance.
    model_answers = {bullet for q in bank for bullet in q.model_answer}
    bodies = []
    for skip in range(0, len(bank), 100):
        listed = await client.get(
            "/api/v1/questions", params={"skip": skip, "limit": 100}, headers=user.headers
        )
        bodies.append(listed.text)
        assert all(set(item) == PUBLIC_FIELDS for item in decode(listed)["items"])
    for question in list(bank)[:20]:
        bodies.append((await client.get(f"/api/v1/questions/{question.id}", headers=user.headers)).text)
    leaked = [bullet for bullet in model_answers for body in bodies if bullet in body]
    assert not leaked, leaked[:3]
    for body in bodies:
        for key in ("key_points", "model_answer", "terms", "label"):
            assert f'"{key}"' not in body


@pytest.mark.parametrize(
    "reference",
    [str(uuid.uuid4()), "not-a-uuid", PRACTICE_SLUG, "0" * 40],
)
async def test_unknown_question_is_404_question_not_found(
    client: httpx.AsyncClient, user: UserAccount, reference: str
) -> None:
    for response in (
        await client.get(f"/api/v1/questions/{reference}", headers=user.headers),
        await client.post(
            f"/api/v1/questions/{reference}/evaluate", json={"answer": "An answer."}, headers=user.headers
        ),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert decode(response)["code"] == "question_not_found"


async def test_every_route_requires_a_token(client: httpx.AsyncClient) -> None:
    question_id = get_bank().by_slug(PRACTICE_SLUG).id
    responses = [
        await client.get("/api/v1/questions"),
        await client.get(f"/api/v1/questions/{question_id}"),
        await client.post(f"/api/v1/questions/{question_id}/evaluate", json={"answer": STRONG_ANSWER}),
        await client.get("/api/v1/questions", headers={"Authorization": "Bearer not-a-token"}),
    ]
    for response in responses:
        assert response.status_code == 401
        assert decode(response)["code"] in {"not_authenticated", "invalid_token"}
        assert "items" not in response.text and "text" not in decode(response)


async def _evaluate(
    client: httpx.AsyncClient, user: UserAccount, question_id: Any, answer: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/questions/{question_id}/evaluate", json={"answer": answer}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = decode(response)
    return body


async def test_evaluation_ranks_strong_above_weak_above_off_topic(
    client: httpx.AsyncClient, user: UserAccount
) -> None:
    question = get_bank().by_slug(PRACTICE_SLUG)
    strong = await _evaluate(client, user, question.id, STRONG_ANSWER)
    weak = await _evaluate(client, user, question.id, WEAK_ANSWER)
    off_topic = await _evaluate(client, user, question.id, OFF_TOPIC_ANSWER)

    for evaluation in (strong, weak, off_topic):
        assert set(evaluation) == EVALUATION_FIELDS
        assert evaluation["question_id"] == str(question.id)
        assert set(evaluation["criteria"]) == set(CRITERIA)
        assert all(0 <= value <= 10 for value in evaluation["criteria"].values())
        assert 0 <= evaluation["score"] <= 10
        assert evaluation["feedback"].strip()
        assert (evaluation["provider"], evaluation["rubric_version"]) == ("offline", RUBRIC_VERSION)
        labels = {point.label for point in question.key_points}
        assert set(evaluation["covered_points"]) | set(evaluation["missed_points"]) == labels

    assert strong["score"] >= weak["score"] + 3, (strong["score"], weak["score"])
    assert weak["score"] > off_topic["score"], (weak["score"], off_topic["score"])
    assert len(strong["covered_points"]) >= 4
    assert off_topic["covered_points"] == []
    assert strong["strengths"]
    assert off_topic["improvements"]


async def test_answer_length_is_checked(client: httpx.AsyncClient, user: UserAccount) -> None:
    question_id = get_bank().by_slug(PRACTICE_SLUG).id
    url = f"/api/v1/questions/{question_id}/evaluate"
    for body in ({"answer": ""}, {"answer": "  \n\t "}, {"answer": "x" * 10_001}, {}, {"answer": 42}):
        response = await client.post(url, json=body, headers=user.headers)
        assert response.status_code == 422, body
        problem = decode(response)
        assert problem["code"] == "validation_error"
        # A missing field is reported against the body, naming the field in the message.
        assert "answer" in problem["errors"][0]["field"] + problem["errors"][0]["message"], problem
    longest = ("The cache is invalidated on every write. " * 300)[:10_000]
    assert (await client.post(url, json={"answer": longest}, headers=user.headers)).status_code == 200


async def test_evaluate_answers_503_when_no_provider_can_serve(
    make_server: Callable[..., Awaitable[Any]], user_factory: UserFactory
) -> None:
    # OpenAI alone and without a key: the chain has nothing to fall back to.
    server = await make_server(llm_providers="openai", openai_api_key="")
    user = await user_factory()
    question_id = get_bank().by_slug(PRACTICE_SLUG).id
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        response = await http.post(
            f"/api/v1/questions/{question_id}/evaluate", json={"answer": STRONG_ANSWER}, headers=user.headers
        )
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = decode(response)
        assert problem["code"] == "ai_unavailable"
        assert "status" in problem["detail"]
        # Browsing needs no AI and keeps working.
        assert (await http.get(f"/api/v1/questions/{question_id}", headers=user.headers)).status_code == 200


async def test_openapi_documents_the_routes(client: httpx.AsyncClient) -> None:
    schema = decode(await client.get("/schema/openapi.json"))
    listing = schema["paths"]["/api/v1/questions"]["get"]
    one = schema["paths"]["/api/v1/questions/{question_id}"]["get"]
    evaluate = schema["paths"]["/api/v1/questions/{question_id}/evaluate"]["post"]
    for operation, statuses in ((listing, {"200", "401", "422"}), (one, {"200", "401", "404"})):
        assert operation["summary"] and operation["description"]
        assert statuses <= set(operation["responses"])
    assert {"200", "401", "404", "422", "503"} <= set(evaluate["responses"])
    assert evaluate["requestBody"]["content"]["application/json"]["schema"]["examples"][0]["answer"]
    assert "key_points" not in str(schema["components"]["schemas"].get("QuestionOut", ""))
    parameters = {parameter["name"] for parameter in listing["parameters"]}
    assert {"track", "difficulty", "topic", "company_style", "q", "skip", "limit"} <= parameters
