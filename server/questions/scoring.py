"""The transparent heuristic rubric: scores an answer with no model, from signals in the text.

Every number below can be explained to a candidate in a sentence, which is the point: the
offline provider uses this rubric, and the report says so.

Signals
- Key-point coverage: a key point counts as covered when any of its terms occurs in the answer
  as whole words, after both are normalised and lightly stemmed (see `server.questions.text`).
- Topic overlap: distinct meaningful words the answer shares with the question itself (its text
  as asked and as in the bank, its tags and topic). Key-point terms are left out here because
  many of them ("learned", "outcome") fit any story; they count as coverage instead.
- Length band, by word count and question kind (`LENGTH_BANDS`): too short, thin, good, rambling.
- Specificity: numbers, named technologies, examples ("for example", "in my last
  role"), and names of products or companies (capitalised words inside sentences).
- Structure: for behavioural questions, which STAR parts (situation, task, action, result) are
  signalled; for technical ones, ordered reasoning, trade-offs and explained causes.
- Communication: starts at 10 and loses points for length outside the good band, very long or
  very choppy sentences, filler and hedging words, and heavy repetition.

Criteria (0-10, one decimal)
- relevance     = 10 × (0.35 × topic overlap + 0.65 × coverage), where coverage is the covered
                  share of key points counted as full at 75 %, and overlap is full at 5 words;
- depth         = 10 × length factor × (0.6 × coverage + 0.25 × explained causes
                  + 0.15 × trade-offs or, for behavioural answers, personal actions);
- structure     = STAR parts or ordered reasoning and trade-offs, times the length factor;
- communication = 10 minus the penalties above;
- specificity   = 10 × the specific details found, full at 5 points (numbers count 1 each up to
                  3, named technologies 0.8 each up to 4, example phrases 1 each up to 2, names
                  0.5 each up to 3).

An answer that covers under a third of the key points and shares fewer than two meaningful words
with the question is off-topic: relevance is capped at `OFF_TOPIC_RELEVANCE_CAP` and every other
criterion at `OFF_TOPIC_CAP`, however well written it is.

`overall_score` is the weighted mean of the criteria with `CRITERION_WEIGHTS`: relevance and
depth 25 % each, specificity 20 %, structure and communication 15 % each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, get_args

from server.llm.types import CRITERIA, EvaluationScores, QuestionBrief, QuestionKind
from server.questions.text import (
    PhraseIndex,
    PhraseList,
    capitalised_words,
    content_stems_of,
    fold,
    folded_words,
    join_labels,
    sentences,
    stem,
    word_set,
    words,
)

CRITERION_WEIGHTS: Final[Mapping[str, float]] = {
    "relevance": 0.25,
    "depth": 0.25,
    "structure": 0.15,
    "communication": 0.15,
    "specificity": 0.20,
}
assert set(CRITERION_WEIGHTS) == set(CRITERIA), "every rubric criterion needs a weight"

LengthBand = Literal["empty", "too_short", "thin", "good", "rambling"]

# (minimum words for "thin", minimum for "good", maximum for "good"), by question kind and style.
LENGTH_BANDS: Final[Mapping[tuple[str, str], tuple[int, int, int]]] = {
    ("warmup", "technical"): (12, 35, 300),
    ("warmup", "behavioural"): (12, 35, 350),
    ("core", "technical"): (25, 70, 400),
    ("core", "behavioural"): (25, 80, 450),
    ("follow_up", "technical"): (15, 45, 300),
    ("follow_up", "behavioural"): (15, 45, 350),
}
LENGTH_FACTORS: Final[Mapping[LengthBand, float]] = {
    "empty": 0.0,
    "too_short": 0.35,
    "thin": 0.75,
    "good": 1.0,
    "rambling": 0.85,
}

COVERAGE_FOR_FULL_MARKS: Final = 0.75
TOPIC_WORDS_FOR_FULL_MARKS: Final = 5
OFF_TOPIC_MAX_COVERAGE: Final = 1 / 3
OFF_TOPIC_MAX_TOPIC_WORDS: Final = 1
OFF_TOPIC_RELEVANCE_CAP: Final = 1.0
OFF_TOPIC_CAP: Final = 1.5

ORDERING_MARKERS: Final = (
    "first",
    "firstly",
    "second",
    "secondly",
    "third",
    "then",
    "next",
    "after that",
    "afterwards",
    "finally",
    "lastly",
    "to start",
    "start by",
    "start with",
    "step",
    "once that",
    "before that",
)
TRADE_OFF_MARKERS: Final = (
    "trade off",
    "tradeoff",
    "however",
    "but",
    "downside",
    "drawback",
    "on the other hand",
    "whereas",
    "instead",
    "alternatively",
    "at the cost",
    "at the expense",
    "the cost",
    "versus",
    "vs",
    "pros and cons",
    "it depends",
    "depends on",
    "balance",
    "compromise",
    "although",
    "the risk",
    "overhead",
    "in exchange",
    "unless",
)
CAUSAL_MARKERS: Final = (
    "because",
    "so that",
    "which means",
    "this means",
    "that means",
    "in order to",
    "otherwise",
    "therefore",
    "since",
    "the reason",
    "to avoid",
    "to prevent",
    "to make sure",
    "ensure",
    "that way",
    "which lets",
    "which allows",
    "thus",
    "as a result",
    "which is why",
    "this way",
    "lead to",
    "result in",
)
EXAMPLE_MARKERS: Final = (
    "for example",
    "for instance",
    "e g",
    "such as",
    "in one case",
    "at my last",
    "in my last",
    "in my previous",
    "at my previous",
    "in my current",
    "last year",
    "we once",
    "i once",
    "in practice",
    "in production",
)
FILLER_MARKERS: Final = (
    "um",
    "uh",
    "erm",
    "basically",
    "you know",
    "sort of",
    "kind of",
    "stuff",
    "whatever",
    "etc",
    "and so on",
    "somehow",
    "i guess",
    "probably",
    "maybe",
    "not sure",
    "or something",
    "things like that",
    "some kind",
    "various",
    "i suppose",
)
STAR_MARKERS: Final[Mapping[str, tuple[str, ...]]] = {
    "situation": (
        "when i was",
        "at my last",
        "at my previous",
        "in my previous",
        "in my last",
        "in my current",
        "at the time",
        "we were",
        "our team",
        "my team",
        "the situation",
        "the context",
        "last year",
        "years ago",
        "months ago",
        "while working",
        "i was working",
        "i worked",
        "there was",
        "we had",
        "the project",
        "a project",
        "back when",
        "i joined",
    ),
    "task": (
        "my task",
        "my role",
        "my job was",
        "my goal",
        "i was responsible",
        "responsible for",
        "i was asked",
        "i needed to",
        "i had to",
        "we needed to",
        "we had to",
        "the goal",
        "the challenge",
        "the problem was",
        "my responsibility",
        "i owned",
        "i was tasked",
        "the deadline",
        "needed to",
        "had to",
    ),
    "result": (
        "as a result",
        "the result",
        "in the end",
        "outcome",
        "reduced",
        "increased",
        "improved",
        "went from",
        "saved",
        "led to",
        "ended up",
        "since then",
        "i learned",
        "i learnt",
        "lesson",
        "eventually",
        "afterwards",
        "shipped",
        "launched",
        "delivered",
        "on time",
        "resolved",
    ),
}
STAR_PARTS: Final = ("situation", "task", "action", "result")

# "I decided", "I quietly rewrote", "I set up": the candidate's own past actions.
_PERSONAL_ACTION = re.compile(
    r"\bi\s+(?:\w+ly\s+)?(?:\w{2,}ed|made|wrote|rewrote|built|met|spoke|led|ran|took|set|sat|brought|"
    r"began|chose|gave|told|sent|went|found|held|drew|put|got|kept|did|split|cut|sought|taught|"
    r"caught|paired|won|lost|left|moved|paid|fought|felt|heard|read|saw|knew|understood|broke|"
    r"shipped|stepped)\b"
)
_NUMBER_WORDS: Final = word_set(
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty "
    "hundred hundreds thousand thousands million millions billion billions dozen half percent"
)

# Concrete technologies, formats and practices, recognised as specific detail in any track.
TECHNOLOGY_TERMS: Final = word_set(
    """
    python java kotlin scala golang rust javascript typescript ruby php swift c++ c# elixir haskell
    react vue angular svelte nextjs redux webpack vite tailwind css html dom graphql grpc rest soap
    websocket websockets http https http2 tls ssl tcp udp dns cdn oauth oidc jwt saml cors csrf xss
    django flask fastapi spring rails express nodejs deno litestar
    postgresql postgres mysql sqlite oracle mongodb redis memcached cassandra dynamodb elasticsearch
    opensearch clickhouse bigquery snowflake redshift databricks druid pinot neo4j
    kafka rabbitmq sqs sns kinesis pulsar nats celery dramatiq sidekiq
    spark flink beam airflow dagster prefect dbt hadoop hive presto trino parquet avro orc iceberg
    delta protobuf json yaml csv
    kubernetes k8s docker helm terraform pulumi ansible argo argocd jenkins circleci gitlab github
    prometheus grafana datadog opentelemetry jaeger sentry pagerduty splunk loki elk kibana
    nginx envoy istio haproxy cloudflare aws gcp azure s3 ec2 lambda cloudfront rds aurora gke eks
    pytorch tensorflow jax keras scikit xgboost lightgbm huggingface mlflow kubeflow sagemaker
    numpy pandas polars jupyter onnx triton vllm faiss pinecone pgvector embeddings transformer
    transformers bert gpt llm llms rag
    jest cypress playwright selenium pytest junit storybook lighthouse
    git linux bash sql nosql etl elt cdc olap oltp acid mvcc raft paxos crdt lru ttl
    slo sla sli p50 p95 p99 kpi kpis okr okrs nps mau dau arpu ltv cac roi
    jira figma amplitude mixpanel looker tableau excel notion confluence miro
    scrum kanban agile
    """
)

# The fixed phrase lists, stemmed at import rather than for every answer.
_TECHNOLOGIES: Final = PhraseList(sorted(TECHNOLOGY_TERMS))
_ORDERING: Final = PhraseList(ORDERING_MARKERS)
_TRADE_OFFS: Final = PhraseList(TRADE_OFF_MARKERS)
_CAUSES: Final = PhraseList(CAUSAL_MARKERS)
_EXAMPLES: Final = PhraseList(EXAMPLE_MARKERS)
_FILLERS: Final = PhraseList(FILLER_MARKERS)
_STAR: Final = {part: PhraseList(markers) for part, markers in STAR_MARKERS.items()}

_UPPER_WORDS: Final = word_set(
    "api apis sql http ml ai ci cd sre aws gcp ux ui llm etl slo sla kpi okr qa jvm css dns cdn"
)
_CRITERION_PHRASES: Final[Mapping[str, str]] = {
    "relevance": "focus on the question",
    "depth": "depth of explanation",
    "structure": "structure",
    "communication": "clarity",
    "specificity": "concrete detail",
}


class RubricError(ValueError):
    """The rubric was called with arguments it cannot score."""


@dataclass(frozen=True)
class AnswerSignals:
    """What the rubric measured in an answer; every criterion is computed from these alone."""

    word_count: int
    sentence_count: int
    length_band: LengthBand
    covered_points: tuple[str, ...]
    missed_points: tuple[str, ...]
    topic_words: int
    off_topic: bool
    numbers: tuple[str, ...]
    technologies: tuple[str, ...]
    example_phrases: int
    names: tuple[str, ...]
    ordering_markers: int
    trade_off_markers: int
    causal_markers: int
    star_parts: tuple[str, ...]
    personal_actions: int
    fillers: tuple[str, ...]
    mean_sentence_words: float
    distinct_word_ratio: float

    @property
    def coverage(self) -> float:
        total = len(self.covered_points) + len(self.missed_points)
        return len(self.covered_points) / total if total else 0.0


def _check_arguments(brief: object, text: object, kind: object) -> None:
    if not isinstance(brief, QuestionBrief):
        raise RubricError(f"brief must be a QuestionBrief, not {type(brief).__name__}")
    if not isinstance(text, str):
        raise RubricError(f"answer must be a string, not {type(text).__name__}")
    if kind not in get_args(QuestionKind):
        raise RubricError(f"kind must be one of {', '.join(get_args(QuestionKind))}, not {kind!r}")


def _length_band(word_count: int, kind: str, style: str) -> LengthBand:
    thin_from, good_from, good_to = LENGTH_BANDS[(kind, style)]
    if word_count == 0:
        return "empty"
    if word_count < thin_from:
        return "too_short"
    if word_count < good_from:
        return "thin"
    if word_count <= good_to:
        return "good"
    return "rambling"


def _subject_words(text: str) -> set[str]:
    return _subject_words_of(words(text))


def _subject_words_of(normalised_words: list[str]) -> set[str]:
    return {stem for stem in content_stems_of(normalised_words) if stem not in _NUMBER_WORDS}


def _question_vocabulary(brief: QuestionBrief, question_text: str) -> frozenset[str]:
    """What the question is about: its words as asked and as in the bank, its tags and topic.

    Key-point terms are left out on purpose: they are scored as coverage, and many of them
    ("learned", "outcome", "team") would credit any story with being on topic.
    """
    return _vocabulary(brief.text, question_text, " ".join(brief.tags), brief.topic)


# Every answer to a question needs the same vocabulary; a brief itself is unhashable (it holds
# lists), so the cache is keyed on the texts the vocabulary is made of.
@lru_cache(maxsize=2048)
def _vocabulary(bank_text: str, question_text: str, tags: str, topic: str) -> frozenset[str]:
    vocabulary = _subject_words(bank_text) | _subject_words(question_text)
    return frozenset(vocabulary | _subject_words(tags) | _subject_words(topic))


# Words are normalised to ASCII letters and digits (see `server.questions.text`), so this finds
# exactly the words where `str.isdigit` holds for some character.
_HAS_DIGIT = re.compile(r"[0-9]")


def _numbers(answer_words: list[str]) -> tuple[str, ...]:
    has_digit = _HAS_DIGIT.search
    found = [word for word in answer_words if word in _NUMBER_WORDS or has_digit(word)]
    return tuple(dict.fromkeys(found))


def analyse_answer(
    brief: QuestionBrief, question_text: str, answer: str, kind: QuestionKind
) -> AnswerSignals:
    """Measure every signal the rubric uses (see the module docstring)."""
    _check_arguments(brief, answer, kind)
    # The answer is normalised and stemmed once; every signal below reads these.
    folded = fold(answer)
    answer_words = folded_words(folded)
    answer_stems = tuple(stem(word) for word in answer_words)
    index = PhraseIndex.from_stems(answer_stems)
    answer_sentences = sentences(answer)
    word_count = len(answer_words)

    covered = tuple(
        point.label for point in brief.key_points if any(index.contains(term) for term in point.terms)
    )
    missed = tuple(point.label for point in brief.key_points if point.label not in covered)
    topic_words = len(_subject_words_of(answer_words) & _question_vocabulary(brief, question_text))
    coverage = len(covered) / len(brief.key_points) if brief.key_points else 0.0
    off_topic = (
        word_count > 0 and coverage < OFF_TOPIC_MAX_COVERAGE and topic_words <= OFF_TOPIC_MAX_TOPIC_WORDS
    )

    found = sorted((at, _TECHNOLOGIES.phrases[order]) for order, at in _TECHNOLOGIES.positions(index))
    technologies = tuple(term for _, term in found)
    star_parts = [part for part, markers in _STAR.items() if markers.count_present(index)]
    personal_actions = len(_PERSONAL_ACTION.findall(folded))
    if personal_actions:
        star_parts.append("action")
    content = [word_stem for word_stem in answer_stems if len(word_stem) > 3]

    return AnswerSignals(
        word_count=word_count,
        sentence_count=len(answer_sentences),
        length_band=_length_band(word_count, kind, brief.style),
        covered_points=covered,
        missed_points=missed,
        topic_words=topic_words,
        off_topic=off_topic,
        numbers=_numbers(answer_words),
        technologies=technologies,
        example_phrases=_EXAMPLES.count_present(index),
        names=tuple(capitalised_words(answer)),
        ordering_markers=_ORDERING.count_present(index),
        trade_off_markers=_TRADE_OFFS.count_present(index),
        causal_markers=_CAUSES.count_present(index),
        star_parts=tuple(part for part in STAR_PARTS if part in star_parts),
        personal_actions=personal_actions,
        fillers=tuple(_FILLERS.present(index)),
        mean_sentence_words=word_count / len(answer_sentences) if answer_sentences else 0.0,
        distinct_word_ratio=len(set(content)) / len(content) if content else 1.0,
    )


def _share(value: float, full_at: float) -> float:
    return min(1.0, value / full_at) if full_at > 0 else 0.0


def criteria_from_signals(signals: AnswerSignals, style: str) -> dict[str, float]:
    if signals.length_band == "empty":
        return dict.fromkeys(CRITERIA, 0.0)
    length_factor = LENGTH_FACTORS[signals.length_band]
    coverage = _share(signals.coverage, COVERAGE_FOR_FULL_MARKS)
    topical = _share(signals.topic_words, TOPIC_WORDS_FOR_FULL_MARKS)
    causes = _share(signals.causal_markers, 3)
    organisation = _share(signals.sentence_count, 4)
    behavioural = style == "behavioural"

    relevance = 10 * (0.35 * topical + 0.65 * coverage)
    if signals.length_band == "too_short":
        relevance *= 0.6

    weighing = _share(signals.personal_actions, 3) if behavioural else _share(signals.trade_off_markers, 2)
    depth = 10 * length_factor * (0.6 * coverage + 0.25 * causes + 0.15 * weighing)

    if behavioural:
        structure_share = 0.75 * len(signals.star_parts) / len(STAR_PARTS) + 0.25 * organisation
    else:
        structure_share = (
            0.3 * _share(signals.ordering_markers, 2)
            + 0.3 * _share(signals.trade_off_markers, 2)
            + 0.2 * _share(signals.causal_markers, 2)
            + 0.2 * organisation
        )
    structure = 10 * min(1.0, length_factor + 0.1) * structure_share

    communication = 10.0
    communication -= {"too_short": 5.0, "thin": 2.0, "rambling": 2.5}.get(signals.length_band, 0.0)
    if signals.mean_sentence_words > 35:
        communication -= 2.0
    elif signals.mean_sentence_words > 28:
        communication -= 1.0
    elif signals.sentence_count >= 3 and signals.mean_sentence_words < 6:
        communication -= 1.5
    filler_density = len(signals.fillers) / max(1.0, signals.word_count / 40)
    communication -= min(4.0, 1.5 * filler_density)
    if signals.word_count >= 60 and signals.distinct_word_ratio < 0.4:
        communication -= 1.5

    detail_points = (
        min(3, len(signals.numbers)) * 1.0
        + min(4, len(signals.technologies)) * 0.8
        + min(2, signals.example_phrases) * 1.0
        + min(3, len(signals.names)) * 0.5
    )
    specificity = 10 * _share(detail_points, 5) * min(1.0, length_factor + 0.25)

    criteria = {
        "relevance": relevance,
        "depth": depth,
        "structure": structure,
        "communication": communication,
        "specificity": specificity,
    }
    if signals.off_topic:
        criteria = {
            name: min(value, OFF_TOPIC_RELEVANCE_CAP if name == "relevance" else OFF_TOPIC_CAP)
            for name, value in criteria.items()
        }
    return {name: round(max(0.0, min(10.0, criteria[name])), 1) for name in CRITERIA}


def overall_score(criteria: Mapping[str, float]) -> float:
    """The weighted mean of the criteria (`CRITERION_WEIGHTS`), 0-10 with one decimal."""
    missing = [name for name in CRITERIA if name not in criteria]
    if missing:
        raise RubricError(f"criteria are missing {', '.join(missing)}")
    total = 0.0
    for name in CRITERIA:
        value = criteria[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10:
            raise RubricError(f"criterion {name} must be a number from 0 to 10, not {value!r}")
        total += CRITERION_WEIGHTS[name] * value
    return round(total / sum(CRITERION_WEIGHTS.values()), 1)


def _topic_phrase(brief: QuestionBrief) -> str:
    return " ".join(word.upper() if word in _UPPER_WORDS else word for word in brief.topic.split("-"))


def _strengths(signals: AnswerSignals, criteria: Mapping[str, float], style: str) -> list[str]:
    if signals.off_topic or signals.length_band == "empty":
        return []
    strengths: list[str] = []
    if signals.covered_points:
        strengths.append(f"You covered {join_labels(signals.covered_points)}.")
    if criteria["specificity"] >= 7:
        figures = [number for number in signals.numbers if any(ch.isdigit() for ch in number)]
        names = {name.lower() for name in signals.names}
        named = [term for term in signals.technologies if term not in names]
        details = [*figures[:2], *signals.names[:2], *named][:4]
        strengths.append(f"You backed it with concrete detail ({join_labels(details)}).")
    if criteria["structure"] >= 7:
        if style == "behavioural":
            strengths.append("The story had a clear situation, task, action and result.")
        else:
            strengths.append("Your reasoning was ordered and weighed trade-offs.")
    if criteria["depth"] >= 7 and signals.causal_markers >= 2:
        strengths.append("You explained why, not only what.")
    if criteria["communication"] >= 8.5:
        strengths.append("The answer was clear and well paced.")
    return strengths


def _improvements(signals: AnswerSignals, criteria: Mapping[str, float], brief: QuestionBrief) -> list[str]:
    if signals.length_band == "empty":
        return ["Give an answer: even a partial one can be scored and improved."]
    improvements: list[str] = []
    if signals.off_topic:
        improvements.append(f"Answer the question that was asked; it is about {_topic_phrase(brief)}.")
    if signals.missed_points:
        improvements.append(f"Address {join_labels(signals.missed_points)}.")
    if signals.length_band in ("too_short", "thin"):
        improvements.append("Say more: explain how and why in a few more sentences.")
    elif signals.length_band == "rambling":
        improvements.append(f"Tighten the answer ({signals.word_count} words): lead with the key idea.")
    if criteria["specificity"] < 5:
        improvements.append("Add concrete detail: numbers, named tools or a real example.")
    if criteria["structure"] < 5:
        if brief.style == "behavioural":
            absent = [part for part in STAR_PARTS if part not in signals.star_parts]
            if len(absent) in (0, len(STAR_PARTS)):
                improvements.append(
                    "Tell it as a story: the situation, your task, what you did and the result."
                )
            else:
                missing = f"the {join_labels(absent)} {'was' if len(absent) == 1 else 'were'} missing"
                improvements.append(f"Tell it as situation, task, action and result: {missing}.")
        else:
            improvements.append("Order your reasoning step by step and name at least one trade-off.")
    if signals.fillers and criteria["communication"] < 7:
        quoted = join_labels([f'"{filler}"' for filler in signals.fillers[:3]])
        improvements.append(f"Cut hedges and filler such as {quoted}.")
    return improvements


def score_answer(
    brief: QuestionBrief, question_text: str, answer: str, kind: QuestionKind
) -> EvaluationScores:
    """Score `answer` against the rubric; deterministic for the same arguments."""
    return _scores_from_signals(brief, analyse_answer(brief, question_text, answer, kind))


def evaluate_answer(
    brief: QuestionBrief, question_text: str, answer: str, kind: QuestionKind
) -> tuple[EvaluationScores, str]:
    """The scores and the feedback prose for `answer`: the same as `score_answer` followed by
    `write_feedback` with the same arguments, but measuring the answer only once."""
    signals = analyse_answer(brief, question_text, answer, kind)
    scores = _scores_from_signals(brief, signals)
    return scores, _feedback_prose(brief, scores, answer, signals)


def _scores_from_signals(brief: QuestionBrief, signals: AnswerSignals) -> EvaluationScores:
    criteria = criteria_from_signals(signals, brief.style)
    return EvaluationScores(
        criteria=criteria,
        strengths=_strengths(signals, criteria, brief.style),
        improvements=_improvements(signals, criteria, brief),
        covered_points=list(signals.covered_points),
        missed_points=list(signals.missed_points),
    )


def _verdict(brief: QuestionBrief, criteria: Mapping[str, float], off_topic: bool) -> str:
    topic = _topic_phrase(brief)
    score = overall_score(criteria)
    best = max(CRITERIA, key=lambda name: (criteria[name], -CRITERIA.index(name)))
    best_phrase = _CRITERION_PHRASES[best]
    if off_topic:
        return f"This answer does not address the question, which is about {topic}."
    if score >= 8:
        return f"This is a strong answer on {topic}, with its {best_phrase} standing out."
    if score >= 6:
        return f"This is a solid answer on {topic}; its {best_phrase} is the strongest part."
    if score >= 4:
        return f"This answer is on {topic} but stays fairly general; its {best_phrase} is the best part."
    return f"This answer only scratches the surface of {topic}."


_ADVICE: Final[Mapping[tuple[str, str], str]] = {
    ("depth", "technical"): "Go one level deeper and explain how each part works and why you chose it.",
    ("depth", "behavioural"): "Go one level deeper into what you personally did and why.",
    (
        "structure",
        "technical",
    ): "Walk through your reasoning in order and name the trade-offs you would accept.",
    ("structure", "behavioural"): "Tell it as situation, task, action and result so the listener can follow.",
    ("communication", "technical"): "Use shorter, direct sentences and drop the hedging.",
    ("communication", "behavioural"): "Use shorter, direct sentences and drop the hedging.",
    ("specificity", "technical"): "Name the tools, numbers or a real case that back up your approach.",
    ("specificity", "behavioural"): "Add the concrete facts: team size, dates, numbers and what changed.",
    ("relevance", "technical"): "Keep every sentence tied to the question asked.",
    ("relevance", "behavioural"): "Keep every sentence tied to the question asked.",
}


def write_feedback(
    brief: QuestionBrief,
    scores: EvaluationScores,
    answer: str,
    *,
    kind: QuestionKind = "core",
    question_text: str | None = None,
) -> str:
    """Feedback prose (2-5 sentences) built from the scores: a verdict, the key points covered and
    missed, advice on the weakest criterion, and a note on length when it is off.

    `question_text` is the question as it was asked (defaults to the bank text); it only matters
    for recognising an off-topic answer, as in `score_answer`.
    """
    _check_arguments(brief, answer, kind)
    overall_score(scores.criteria)  # rejects incomplete or out-of-range criteria before we describe them
    signals = analyse_answer(brief, question_text if question_text is not None else brief.text, answer, kind)
    return _feedback_prose(brief, scores, answer, signals)


def _feedback_prose(
    brief: QuestionBrief, scores: EvaluationScores, answer: str, signals: AnswerSignals
) -> str:
    """`write_feedback` once the arguments are checked and `signals` measured for `answer`."""
    if not answer.strip():
        labels = join_labels([point.label for point in brief.key_points])
        return f"No answer was given, so there is nothing to score yet. A good answer would cover {labels}."
    criteria = scores.criteria
    parts = [_verdict(brief, criteria, signals.off_topic)]
    if scores.covered_points and not signals.off_topic:
        parts.append(f"You covered {join_labels(scores.covered_points)}.")
    if scores.missed_points:
        shown = scores.missed_points[:3]
        more = len(scores.missed_points) - len(shown)
        tail = f" (and {more} more)" if more else ""
        lead = "A good answer would cover" if signals.off_topic else "To make it stronger, address"
        parts.append(f"{lead} {join_labels(shown)}{tail}.")
    weakest = min(CRITERIA, key=lambda name: (criteria[name], CRITERIA.index(name)))
    if not signals.off_topic and criteria[weakest] < 6:
        parts.append(_ADVICE[(weakest, brief.style)])
    if signals.length_band == "too_short":
        parts.append(f"At {signals.word_count} words it is too short to show what you know.")
    elif signals.length_band == "rambling":
        parts.append(f"At {signals.word_count} words it runs long; lead with the key idea and trim the rest.")
    return " ".join(parts[:5])
