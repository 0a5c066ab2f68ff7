"""The question bank: one TOML file per interview track under `server/questions/bank/`.

Loading is strict about shape: a missing or unknown field, or a value of the wrong type, is an
error naming the file and the field. On top of that shape, two kinds of rules apply:

- integrity rules (unique slugs, values in range, lowercase terms, ...). A bank that breaks one
  cannot be served, so `load_bank` raises `BankError` listing every broken rule;
- quality rules: coverage (enough questions per track, per difficulty, per company style, enough
  warm-ups) and key-point terms that cannot work: too generic to mean anything ("data",
  "system") or with no word to match ("[]"). They keep
  interviews varied and scoring fair but do not make the bank unusable, so they are checked by
  `validate_bank` (the `interviewace questions validate` command and the test suite) and only
  logged as warnings by `get_bank`.

Each question's id is `uuid5(QUESTION_NAMESPACE, slug)`: stable across restarts and machines,
so stored interviews keep pointing at the same question as long as its slug is kept.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal, get_args

import msgspec
import msgspec.toml

from server.core.logging import get_logger
from server.llm.types import KeyPoint, QuestionBrief, QuestionStyle
from server.questions.text import FUNCTION_WORDS, phrase_key

DEFAULT_BANK_DIR: Final = Path(__file__).resolve().parent / "bank"
QUESTION_NAMESPACE: Final = uuid.UUID("0b6f3c1e-5a43-4c8e-9d35-7f0e2b9a6d14")

CompanyStyle = Literal["startup", "big_tech", "enterprise", "fintech", "consultancy"]
COMPANY_STYLES: Final[tuple[str, ...]] = get_args(CompanyStyle)
QUESTION_STYLES: Final[tuple[str, ...]] = get_args(QuestionStyle)

MIN_DIFFICULTY: Final = 1
MAX_DIFFICULTY: Final = 5
MAX_WARMUP_DIFFICULTY: Final = 2

# Coverage rules, per track.
MIN_QUESTIONS_PER_TRACK: Final = 30
MIN_QUESTIONS_PER_DIFFICULTY: Final = 5
MIN_QUESTIONS_PER_COMPANY_STYLE: Final = 5
MIN_WARMUPS_PER_TRACK: Final = 3

# Per-question shape rules: inclusive (min, max) counts.
KEY_POINTS_RANGE: Final = (3, 6)
MODEL_ANSWER_RANGE: Final = (3, 6)
TAGS_RANGE: Final = (1, 6)
TERMS_RANGE: Final = (3, 8)

# A term this broad would mark its key point as covered by almost any answer.
GENERIC_TERMS: Final = FUNCTION_WORDS | frozenset(
    {"system", "systems", "data", "use", "used", "using", "thing", "things", "stuff", "way", "work", "good"}
)

_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_KEBAB_CASE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

logger = get_logger(__name__)


class BankError(Exception):
    """The bank cannot be loaded; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        summary = problems[0] if len(problems) == 1 else f"{len(problems)} problems, first: {problems[0]}"
        super().__init__(f"question bank is invalid: {summary}")


class UnknownQuestionError(LookupError):
    """No question in the bank has this id or slug."""


class UnknownTrackError(LookupError):
    """No track in the bank has this id."""


# ---- the file format, exactly as written in the TOML files ----


class KeyPointEntry(msgspec.Struct, forbid_unknown_fields=True):
    label: str
    terms: list[str]


class QuestionEntry(msgspec.Struct, forbid_unknown_fields=True):
    slug: str
    difficulty: int
    topic: str
    tags: list[str]
    company_styles: list[str]
    style: str
    warmup: bool
    text: str
    model_answer: list[str]
    key_points: list[KeyPointEntry]


class TrackFile(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    description: str
    questions: list[QuestionEntry]


# ---- the in-memory bank ----


class BankQuestion(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    slug: str
    track: str
    difficulty: int
    topic: str
    tags: tuple[str, ...]
    company_styles: tuple[str, ...]
    style: QuestionStyle
    warmup: bool
    text: str
    model_answer: tuple[str, ...]
    key_points: tuple[KeyPoint, ...]

    def to_brief(self) -> QuestionBrief:
        return QuestionBrief(
            id=self.id,
            slug=self.slug,
            track=self.track,
            difficulty=self.difficulty,
            topic=self.topic,
            tags=list(self.tags),
            style=self.style,
            text=self.text,
            key_points=list(self.key_points),
            model_answer=list(self.model_answer),
        )


class Track(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str
    question_ids: tuple[uuid.UUID, ...]


class QuestionBank:
    """All tracks and questions, indexed by track id, question id and slug. Read-only."""

    def __init__(self, tracks: Iterable[Track], questions: Iterable[BankQuestion]) -> None:
        self.tracks: dict[str, Track] = {track.id: track for track in sorted(tracks, key=lambda t: t.id)}
        self.questions: dict[uuid.UUID, BankQuestion] = {question.id: question for question in questions}
        self._by_slug: dict[str, BankQuestion] = {q.slug: q for q in self.questions.values()}
        self._tags: frozenset[str] = frozenset(tag for q in self.questions.values() for tag in q.tags)

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[BankQuestion]:
        return iter(self.questions.values())

    @property
    def track_ids(self) -> tuple[str, ...]:
        return tuple(self.tracks)

    @property
    def tags(self) -> frozenset[str]:
        """Every tag used by at least one question."""
        return self._tags

    def track(self, track_id: str) -> Track:
        try:
            return self.tracks[track_id]
        except KeyError:
            raise UnknownTrackError(f"unknown track {track_id!r}; known: {', '.join(self.tracks)}") from None

    def questions_in(self, track_id: str) -> list[BankQuestion]:
        return [self.questions[question_id] for question_id in self.track(track_id).question_ids]

    def get(self, question_id: uuid.UUID | str) -> BankQuestion:
        """A question by UUID (or its string form)."""
        try:
            key = question_id if isinstance(question_id, uuid.UUID) else uuid.UUID(question_id)
        except ValueError:
            raise UnknownQuestionError(f"{question_id!r} is not a question id") from None
        try:
            return self.questions[key]
        except KeyError:
            raise UnknownQuestionError(f"no question with id {key}") from None

    def by_slug(self, slug: str) -> BankQuestion:
        try:
            return self._by_slug[slug]
        except KeyError:
            raise UnknownQuestionError(f"no question with slug {slug!r}") from None

    def find(self, reference: uuid.UUID | str) -> BankQuestion | None:
        """A question by UUID, UUID string or slug; None when nothing matches."""
        if isinstance(reference, uuid.UUID):
            return self.questions.get(reference)
        if reference in self._by_slug:
            return self._by_slug[reference]
        try:
            return self.questions.get(uuid.UUID(reference))
        except ValueError:
            return None


def question_id_for(slug: str) -> uuid.UUID:
    return uuid.uuid5(QUESTION_NAMESPACE, slug)


def discover_track_ids(directory: Path = DEFAULT_BANK_DIR) -> tuple[str, ...]:
    """Track ids named by the files present (`<track_id>.toml`), sorted."""
    if not directory.is_dir():
        return ()
    return tuple(sorted(path.stem for path in directory.glob("*.toml")))


# The tracks shipped with this installation, as found on disk when the module was imported.
TRACK_IDS: Final[tuple[str, ...]] = discover_track_ids()


# ---- reading and checking ----


@dataclass
class _Scan:
    files: list[tuple[Path, TrackFile]] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)  # the bank cannot be served
    quality: list[str] = field(default_factory=list)  # coverage gaps and weak terms: served anyway


def _read_track_file(path: Path) -> TrackFile | str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"{path.name}: cannot be read ({exc.strerror or exc})"
    try:
        return msgspec.toml.decode(raw, type=TrackFile)
    except msgspec.ValidationError as exc:
        return f"{path.name}: {exc}"
    except msgspec.DecodeError as exc:
        return f"{path.name}: not valid TOML ({exc})"


def _count_problem(where: str, what: str, count: int, bounds: tuple[int, int]) -> str | None:
    low, high = bounds
    if low <= count <= high:
        return None
    return f"{where}: has {count} {what}, expected {low}-{high}"


def _check_text_list(where: str, what: str, values: list[str]) -> list[str]:
    problems = []
    for position, value in enumerate(values, start=1):
        if not value.strip():
            problems.append(f"{where}: {what} #{position} is empty")
        elif value != value.strip():
            problems.append(f"{where}: {what} #{position} has leading or trailing spaces")
    return problems


def _check_question(path: Path, track_id: str, index: int, question: QuestionEntry) -> list[str]:
    label = repr(question.slug) if question.slug.strip() else f"#{index}"
    where = f"{path.name}: question {label}"
    problems: list[str] = []
    slug_prefix = track_id.replace("_", "-") + "-"
    if not _KEBAB_CASE.match(question.slug):
        problems.append(f"{where}: slug must be kebab-case (lowercase words joined by '-')")
    elif not question.slug.startswith(slug_prefix):
        problems.append(f"{where}: slug must start with {slug_prefix!r}")
    if not MIN_DIFFICULTY <= question.difficulty <= MAX_DIFFICULTY:
        problems.append(
            f"{where}: difficulty {question.difficulty} is outside {MIN_DIFFICULTY}-{MAX_DIFFICULTY}"
        )
    if not _KEBAB_CASE.match(question.topic):
        problems.append(f"{where}: topic {question.topic!r} must be a kebab-case slug")
    if question.style not in QUESTION_STYLES:
        problems.append(f"{where}: style {question.style!r} is not one of {', '.join(QUESTION_STYLES)}")
    if question.warmup and question.difficulty > MAX_WARMUP_DIFFICULTY:
        problems.append(
            f"{where}: warm-up questions must have difficulty {MIN_DIFFICULTY}-{MAX_WARMUP_DIFFICULTY}, "
            f"not {question.difficulty}"
        )
    if not question.text.strip():
        problems.append(f"{where}: text is empty")

    if message := _count_problem(where, "tags", len(question.tags), TAGS_RANGE):
        problems.append(message)
    problems += _check_text_list(where, "tag", question.tags)
    for tag in question.tags:
        if tag.strip() and tag != tag.lower():
            problems.append(f"{where}: tag {tag!r} must be lowercase")
    for tag, count in Counter(question.tags).items():
        if count > 1:
            problems.append(f"{where}: tag {tag!r} is listed {count} times")

    if not question.company_styles:
        problems.append(f"{where}: company_styles is empty")
    for company_style in question.company_styles:
        if company_style not in COMPANY_STYLES:
            problems.append(
                f"{where}: unknown company style {company_style!r} (known: {', '.join(COMPANY_STYLES)})"
            )
    for company_style, count in Counter(question.company_styles).items():
        if count > 1:
            problems.append(f"{where}: company style {company_style!r} is listed {count} times")

    bullets = len(question.model_answer)
    if message := _count_problem(where, "model-answer bullets", bullets, MODEL_ANSWER_RANGE):
        problems.append(message)
    problems += _check_text_list(where, "model-answer bullet", question.model_answer)

    if message := _count_problem(where, "key points", len(question.key_points), KEY_POINTS_RANGE):
        problems.append(message)
    labels = Counter(point.label.strip().lower() for point in question.key_points)
    for label, count in labels.items():
        if label and count > 1:
            problems.append(f"{where}: key point label {label!r} is used {count} times")
    for position, point in enumerate(question.key_points, start=1):
        point_where = f"{where}: key point #{position}"
        if not point.label.strip():
            problems.append(f"{point_where}: label is empty")
        if message := _count_problem(point_where, "terms", len(point.terms), TERMS_RANGE):
            problems.append(message)
        problems += _check_text_list(point_where, "term", point.terms)
        for term in point.terms:
            if not term.strip():
                continue
            if term != term.lower():
                problems.append(f"{point_where}: term {term!r} must be lowercase")
        for term, count in Counter(point.terms).items():
            if count > 1:
                problems.append(f"{point_where}: term {term!r} is listed {count} times")
    return problems


def _check_track(path: Path, track: TrackFile) -> list[str]:
    problems: list[str] = []
    if not _SNAKE_CASE.match(track.id):
        problems.append(f"{path.name}: track id {track.id!r} must be snake_case")
    if track.id != path.stem:
        problems.append(f"{path.name}: track id {track.id!r} must match the file name {path.stem!r}")
    for field_name in ("name", "description"):
        if not getattr(track, field_name).strip():
            problems.append(f"{path.name}: {field_name} is empty")
    if not track.questions:
        problems.append(f"{path.name}: has no questions")
    for index, question in enumerate(track.questions, start=1):
        # The file name is the track id by contract; a mismatched `id` is reported once above.
        problems += _check_question(path, path.stem, index, question)
    return problems


def _questions(count: int) -> str:
    return f"{count} question" if count == 1 else f"{count} questions"


def _check_coverage(path: Path, track: TrackFile) -> list[str]:
    problems: list[str] = []
    questions = track.questions
    if len(questions) < MIN_QUESTIONS_PER_TRACK:
        problems.append(
            f"{path.name}: {_questions(len(questions))}; at least {MIN_QUESTIONS_PER_TRACK} are needed"
        )
    per_difficulty = Counter(question.difficulty for question in questions)
    for difficulty in range(MIN_DIFFICULTY, MAX_DIFFICULTY + 1):
        if per_difficulty[difficulty] < MIN_QUESTIONS_PER_DIFFICULTY:
            problems.append(
                f"{path.name}: {_questions(per_difficulty[difficulty])} of difficulty {difficulty}; "
                f"at least {MIN_QUESTIONS_PER_DIFFICULTY} are needed"
            )
    per_style = Counter(style for question in questions for style in set(question.company_styles))
    for company_style in COMPANY_STYLES:
        if per_style[company_style] < MIN_QUESTIONS_PER_COMPANY_STYLE:
            problems.append(
                f"{path.name}: {_questions(per_style[company_style])} for company style {company_style!r}; "
                f"at least {MIN_QUESTIONS_PER_COMPANY_STYLE} are needed"
            )
    warmups = sum(1 for question in questions if question.warmup)
    if warmups < MIN_WARMUPS_PER_TRACK:
        problems.append(
            f"{path.name}: {_questions(warmups)} marked warmup; at least {MIN_WARMUPS_PER_TRACK} are needed"
        )
    return problems


def _check_term_quality(path: Path, track: TrackFile) -> list[str]:
    """Terms that can never match, or that match almost any answer."""
    problems: list[str] = []
    for index, question in enumerate(track.questions, start=1):
        label = repr(question.slug) if question.slug.strip() else f"#{index}"
        for position, point in enumerate(question.key_points, start=1):
            where = f"{path.name}: question {label}: key point #{position}"
            for term in point.terms:
                if not term.strip():
                    continue
                if not phrase_key(term):
                    problems.append(f"{where}: term {term!r} has no words to match")
                elif term.strip().lower() in GENERIC_TERMS:
                    problems.append(f"{where}: term {term!r} is too generic to show the point was made")
    return problems


def _normalised_text(text: str) -> str:
    return " ".join(text.lower().split())


def _scan(directory: Path) -> _Scan:
    scan = _Scan()
    if not directory.is_dir():
        scan.integrity.append(f"{directory}: bank directory does not exist")
        return scan
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        scan.integrity.append(f"{directory}: holds no track files (<track_id>.toml)")
    for path in paths:
        parsed = _read_track_file(path)
        if isinstance(parsed, str):
            scan.integrity.append(parsed)
            continue
        scan.files.append((path, parsed))
        scan.integrity += _check_track(path, parsed)
        scan.quality += _check_coverage(path, parsed)
        scan.quality += _check_term_quality(path, parsed)

    slug_files: dict[str, list[str]] = {}
    text_slugs: dict[str, list[str]] = {}
    for path, track in scan.files:
        for question in track.questions:
            slug_files.setdefault(question.slug, []).append(path.name)
            if question.text.strip():
                place = f"{path.name}:{question.slug}"
                text_slugs.setdefault(_normalised_text(question.text), []).append(place)
    for slug, files in slug_files.items():
        if len(files) > 1:
            scan.integrity.append(f"slug {slug!r} is used {len(files)} times ({', '.join(files)})")
    for places in text_slugs.values():
        if len(places) > 1:
            scan.integrity.append(f"the same question text is used {len(places)} times ({', '.join(places)})")
    return scan


def validate_bank(directory: Path = DEFAULT_BANK_DIR) -> list[str]:
    """Every problem in the bank at `directory`, integrity problems first; empty when valid."""
    scan = _scan(directory)
    return scan.integrity + scan.quality


def _build(files: list[tuple[Path, TrackFile]]) -> QuestionBank:
    tracks: list[Track] = []
    questions: list[BankQuestion] = []
    for _, track_file in files:
        track_questions = [
            BankQuestion(
                id=question_id_for(entry.slug),
                slug=entry.slug,
                track=track_file.id,
                difficulty=entry.difficulty,
                topic=entry.topic,
                tags=tuple(entry.tags),
                company_styles=tuple(entry.company_styles),
                # _check_question has rejected any other value before we get here.
                style="behavioural" if entry.style == "behavioural" else "technical",
                warmup=entry.warmup,
                text=entry.text.strip(),
                model_answer=tuple(entry.model_answer),
                key_points=tuple(
                    KeyPoint(label=point.label, terms=list(point.terms)) for point in entry.key_points
                ),
            )
            for entry in track_file.questions
        ]
        questions += track_questions
        tracks.append(
            Track(
                id=track_file.id,
                name=track_file.name,
                description=track_file.description,
                question_ids=tuple(question.id for question in track_questions),
            )
        )
    return QuestionBank(tracks, questions)


def load_bank(directory: Path = DEFAULT_BANK_DIR) -> QuestionBank:
    """Read and check the bank; raises `BankError` when an integrity rule is broken.

    Quality rules are not enforced here (see the module docstring); `validate_bank` reports them.
    """
    scan = _scan(directory)
    if scan.integrity:
        raise BankError(scan.integrity)
    return _build(scan.files)


@lru_cache(maxsize=1)
def get_bank() -> QuestionBank:
    """The shipped bank, loaded once per process. Quality problems are logged, not fatal."""
    scan = _scan(DEFAULT_BANK_DIR)
    if scan.integrity:
        raise BankError(scan.integrity)
    for problem in scan.quality:
        logger.warning("question_bank_quality", problem=problem)
    bank = _build(scan.files)
    logger.info("question_bank_loaded", tracks=len(bank.tracks), questions=len(bank))
    return bank


def validate_command(directory: Path = DEFAULT_BANK_DIR) -> int:
    """`interviewace questions validate`: print every problem; exit code 0 when there are none."""
    problems = validate_bank(directory)
    if problems:
        for problem in problems:
            print(problem)
        print(f"question bank at {directory}: {len(problems)} problem(s)")
        return 1
    bank = load_bank(directory)
    per_track = ", ".join(f"{track_id} {len(track.question_ids)}" for track_id, track in bank.tracks.items())
    print(f"question bank OK: {len(bank.tracks)} tracks, {len(bank)} questions ({per_track})")
    return 0
