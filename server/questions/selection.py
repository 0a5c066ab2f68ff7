"""Choosing the next question of an interview, and finding bank tags in a job description.

`choose_question` ranks every eligible question of the track by, in this order:

1. distance from the requested difficulty (the requested level first, then the nearest);
2. whether its topic was already asked in this interview (new topics first);
3. how many of the two sources, resume skills and job-description keywords, match its tags;
4. whether it is tagged with the requested company style;
5. a tie-break derived from the seed and the slug, so that the same inputs always give the same
   question while different seeds spread interviews across the bank.

Asked questions are never chosen again. Warm-up questions are chosen only for warm-up slots;
when a warm-up slot finds no unasked warm-up, the gentlest core question stands in for it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple
from uuid import UUID

from server.questions.bank import (
    COMPANY_STYLES,
    MAX_DIFFICULTY,
    MIN_DIFFICULTY,
    BankQuestion,
    QuestionBank,
    get_bank,
)
from server.questions.text import STOPWORDS, PhraseIndex, phrase_key, words


class SelectionError(ValueError):
    """The selection request itself is invalid (difficulty out of range, unknown company style)."""


class NoQuestionAvailableError(LookupError):
    """Every eligible question of the track has already been asked."""


class Selection(NamedTuple):
    question: BankQuestion
    focus_skill: str | None  # the resume skill or job keyword that matched the question's tags


# Other names people write for a technology or concept, mapped to the name the bank's tags use.
# Keys and values go through `phrase_key`, so spelling details (case, dots, hyphens) do not matter.
_ALIASES: dict[str, str] = {
    "postgres": "postgresql",
    "psql": "postgresql",
    "k8s": "kubernetes",
    "eks": "kubernetes",
    "gke": "kubernetes",
    "aks": "kubernetes",
    "golang": "go",
    "js": "javascript",
    "ecmascript": "javascript",
    "ts": "typescript",
    "node": "nodejs",
    "node.js": "nodejs",
    "react.js": "react",
    "reactjs": "react",
    "vue.js": "vue",
    "vuejs": "vue",
    "next.js": "nextjs",
    "amazon web services": "aws",
    "google cloud": "gcp",
    "google cloud platform": "gcp",
    "microsoft azure": "azure",
    "mongo": "mongodb",
    "elastic": "elasticsearch",
    "rabbit": "rabbitmq",
    "sklearn": "scikit-learn",
    "torch": "pytorch",
    "ml": "machine-learning",
    "machine learning": "machine-learning",
    "llm": "llms",
    "large language models": "llms",
    "ci/cd": "ci-cd",
    "continuous integration": "ci-cd",
    "continuous delivery": "ci-cd",
    "a/b testing": "ab-testing",
    "a/b tests": "ab-testing",
    "experimentation": "ab-testing",
    "gitlab ci": "ci-cd",
    "github actions": "ci-cd",
    "sre": "reliability",
    "site reliability engineering": "reliability",
    "people management": "leadership",
    "team leadership": "leadership",
    "restful": "rest",
    "rest api": "rest",
}
# Aliases that are safe in a list of skills but are everyday words in prose ("each node").
_SKILL_ONLY_ALIASES = frozenset({"node", "elastic", "rabbit", "torch", "js", "ts"})
_ALIAS_KEYS: dict[str, str] = {phrase_key(alias): phrase_key(target) for alias, target in _ALIASES.items()}

# Tags that are also everyday English words ("go fast", "the rest of the team", "react quickly").
# In free text they count only when written the way the technology is written.
_CASE_SENSITIVE_FORMS: dict[str, tuple[str, ...]] = {
    "go": ("Go",),
    "rest": ("REST", "RESTful"),
    "react": ("React",),
    "swift": ("Swift",),
    "rust": ("Rust",),
    "spark": ("Spark", "PySpark"),
    "express": ("Express", "Express.js"),
    "r": ("R",),
    "c": ("C",),
    "dart": ("Dart",),
    "chef": ("Chef",),
    "puppet": ("Puppet",),
    "flask": ("Flask",),
    "ruby": ("Ruby",),
}


def canonical_key(term: str) -> str:
    """The key a skill, keyword or tag is compared by: stems, with known aliases resolved."""
    key = phrase_key(term)
    return _ALIAS_KEYS.get(key, key)


def _contains_run(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    width = len(needle)
    return width > 0 and any(
        tuple(haystack[i : i + width]) == tuple(needle) for i in range(len(haystack) - width + 1)
    )


def _meaningful(key: str) -> bool:
    return bool(key) and key not in STOPWORDS and len(key) > 1


def term_matches_tag(term: str, tag: str) -> bool:
    """A skill or keyword matches a tag when both name the same thing, or one contains the other
    as whole words ("AWS Lambda" matches "aws"; "sql" matches "sql-tuning")."""
    term_key, tag_key = canonical_key(term), canonical_key(tag)
    if not term_key or not tag_key:
        return False
    if term_key == tag_key:
        return True
    term_words, tag_words = term_key.split(), tag_key.split()
    if _meaningful(tag_key) and _contains_run(term_words, tag_words):
        return True
    return _meaningful(term_key) and _contains_run(tag_words, term_words)


def _first_match(terms: Iterable[str], tags: Sequence[str]) -> str | None:
    for term in terms:
        if any(term_matches_tag(term, tag) for tag in tags):
            return term
    return None


def _tiebreak(seed: int, slug: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{slug}".encode(), digest_size=8).digest()


def _asked_questions(bank: QuestionBank, asked: Iterable[UUID | str]) -> list[BankQuestion]:
    found = (bank.find(reference) for reference in asked)
    return [question for question in found if question is not None]


def choose_question(
    bank: QuestionBank,
    *,
    track: str,
    difficulty: int,
    company_style: str | None,
    asked: set[UUID] | set[str],
    resume_skills: list[str],
    job_keywords: list[str],
    warmup: bool,
    seed: int,
) -> Selection:
    """The next question to ask; deterministic for the same arguments (see the module docstring).

    `asked` holds question ids (UUIDs or their strings) or slugs. Raises `UnknownTrackError`,
    `SelectionError` for invalid arguments, `NoQuestionAvailableError` when nothing is left.
    """
    if isinstance(difficulty, bool) or not isinstance(difficulty, int):
        raise SelectionError(f"difficulty must be an integer, not {difficulty!r}")
    if not MIN_DIFFICULTY <= difficulty <= MAX_DIFFICULTY:
        raise SelectionError(f"difficulty must be {MIN_DIFFICULTY}-{MAX_DIFFICULTY}, not {difficulty}")
    if company_style is not None and company_style not in COMPANY_STYLES:
        raise SelectionError(f"unknown company style {company_style!r}; known: {', '.join(COMPANY_STYLES)}")
    track_questions = bank.questions_in(track)

    asked_questions = _asked_questions(bank, asked)
    asked_ids = {question.id for question in asked_questions}
    asked_topics = {question.topic for question in asked_questions if question.track == track}
    unasked = [question for question in track_questions if question.id not in asked_ids]

    target = difficulty
    pool = [question for question in unasked if question.warmup == warmup]
    if warmup and not pool:
        pool = [question for question in unasked if not question.warmup]
        target = MIN_DIFFICULTY
    if not pool:
        kind = "warm-up or core" if warmup else "core"
        raise NoQuestionAvailableError(f"every {kind} question of track {track!r} has been asked")

    skills = [skill for skill in resume_skills if skill.strip()]
    keywords = [keyword for keyword in job_keywords if keyword.strip()]

    def rank(question: BankQuestion) -> tuple[int, int, int, int, bytes]:
        skill = _first_match(skills, question.tags)
        keyword = _first_match(keywords, question.tags)
        matches = (skill is not None) + (keyword is not None)
        return (
            abs(question.difficulty - target),
            question.topic in asked_topics,
            -matches,
            company_style is not None and company_style not in question.company_styles,
            _tiebreak(seed, question.slug),
        )

    chosen = min(pool, key=rank)
    focus = _first_match(skills, chosen.tags) or _first_match(keywords, chosen.tags)
    return Selection(question=chosen, focus_skill=focus)


def _case_sensitive_position(text: str, forms: tuple[str, ...]) -> int | None:
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(form) for form in forms) + r")(?![\w+#])")
    match = pattern.search(text)
    if match is None:
        return None
    return len(words(text[: match.start()]))


def extract_job_keywords(job_description: str, *, bank: QuestionBank | None = None) -> list[str]:
    """The bank's tags that a job description mentions, in order of first mention, each once.

    Matching is on whole words with simple inflections and known aliases ("Postgres" finds
    "postgresql", "K8s" finds "kubernetes"); tags that are also everyday words ("go", "rest",
    "react") count only when capitalised as the technology is.
    """
    if not isinstance(job_description, str):
        raise TypeError(f"job_description must be a string, not {type(job_description).__name__}")
    bank = bank if bank is not None else get_bank()
    index = PhraseIndex(job_description)
    surfaces_by_key: dict[str, list[str]] = {}
    for alias, target in _ALIASES.items():
        surfaces_by_key.setdefault(canonical_key(target), []).append(alias)

    found: list[tuple[int, str]] = []
    for tag in sorted(bank.tags):
        key = canonical_key(tag)
        positions: list[int] = []
        case_forms = _CASE_SENSITIVE_FORMS.get(key)
        if case_forms is not None:
            position = _case_sensitive_position(job_description, case_forms)
            if position is not None:
                positions.append(position)
        else:
            position = index.position(tag)
            if position is not None:
                positions.append(position)
        for alias in surfaces_by_key.get(key, []):
            if alias in _SKILL_ONLY_ALIASES:
                continue
            alias_position = index.position(alias)
            if alias_position is not None:
                positions.append(alias_position)
        if positions:
            found.append((min(positions), tag))
    found.sort()
    return [tag for _, tag in found]
