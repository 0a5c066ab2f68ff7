"""Text helpers shared by the question bank, question selection and the heuristic rubric.

Everything here works on a normalised form of English text: accents stripped, lower case,
apostrophes inside words dropped ("don't" -> "dont"), and split into word tokens where "c++" and
"c#" stay whole but hyphens, slashes and dots separate words ("trade-off" -> "trade off",
"ci/cd" -> "ci cd"). Terms and answers go through the same steps, so a term written with a
hyphen matches an answer written with a space.

A deliberately light stemmer makes matching tolerant of simple inflections ("cache", "caches",
"cached", "caching" share one stem). It is not a linguistic stemmer: it only has to map a term
and its common inflections to the same key, and both sides of every comparison use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, KeysView
from functools import lru_cache

# Matches the apostrophe before looking behind it: with the look-behind first, the engine would
# test it at every position of the text, which made this the slowest step of `fold`.
_INNER_APOSTROPHE = re.compile(r"['’‘`](?<=\w['’‘`])(?=\w)")
_WORD = re.compile(r"[a-z0-9]+(?:\+\+|#)?")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_FIRST_WORD = re.compile(r"[A-Za-z0-9]")
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9+#.]*[A-Za-z0-9+#]")

# British spellings folded onto American ones so that either spelling in a term matches both.
_SPELLING_VARIANTS = {
    "behaviour": "behavior",
    "behaviours": "behaviors",
    "behavioural": "behavioral",
    "favour": "favor",
    "honour": "honor",
    "colour": "color",
    "modelling": "modeling",
    "modelled": "modeled",
    "labelling": "labeling",
    "labelled": "labeled",
    "cancelled": "canceled",
    "cancelling": "canceling",
    "travelled": "traveled",
    "catalogue": "catalog",
    "centre": "center",
    "licence": "license",
    "defence": "defense",
    "programme": "program",
}
# Plurals of acronyms that end like "analysis" or "status" and so escape the plural rule.
_ACRONYM_PLURALS = {"apis": "api", "kpis": "kpi", "slis": "sli", "cpus": "cpu", "gpus": "gpu", "tpus": "tpu"}
_ISE_SPELLING = re.compile(r"(?<=[a-z]{3})is(e|es|ed|ing|ation|ations)$")
_UNDOUBLE = frozenset("bdgkmnprt")
_EED_BASE_WORDS = frozenset({"exceed", "succeed", "proceed"})


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a literal block, as a set (for readable word lists)."""
    return frozenset(text.split())


# Grammar words: they carry no topic in any text.
_FUNCTION_WORD_LIST = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing done down during each either else even ever
every few for from further get gets getting got had has have having he her here hers him his how
however i if in into is it its itself just let lets like many may me might more most much must my
myself no nor not now of off often on once one only or other our ours out over own per quite rather
really same she should so some something still such than that the their theirs them then there
these they this those through to too under until up upon us very via was we well were what when
where whether which while who whom whose why will with within without would yes yet you your yours
yourself
"""
FUNCTION_WORDS = word_set(_FUNCTION_WORD_LIST)

# The stock phrasing of interview questions and of vague answers ("tell me about a time", "walk me
# through", "make sure things work"): echoing these shows nothing about the topic.
_INTERVIEW_WORD_LIST = """
describe explain tell walk give talk time times example examples approach approaches handle happen
happens think thought want wanted know knew sure go going went kind sort lot lots good great better
best bad new old different important part case cases point points question answer someone anything
everything work worked working job next first thing things way ways make makes making made use used
uses using need needs say says
"""
STOPWORDS = FUNCTION_WORDS | word_set(_INTERVIEW_WORD_LIST)


class _CombiningMarks(dict[int, int | None]):
    """A `str.translate` table that deletes combining marks, filled in as characters are seen.

    Capped so that text full of rare characters cannot grow it without bound; characters past
    the cap are still looked up, just not remembered.
    """

    limit = 4096

    def __missing__(self, code_point: int) -> int | None:
        mapped = None if unicodedata.combining(chr(code_point)) else code_point
        if len(self) < self.limit:
            self[code_point] = mapped
        return mapped


_WITHOUT_COMBINING_MARKS = _CombiningMarks()


def fold(text: str) -> str:
    """Lower-case, strip accents and drop apostrophes inside words."""
    if text.isascii():
        # NFKD leaves ASCII unchanged and ASCII has no combining marks.
        return _INNER_APOSTROPHE.sub("", text.lower())
    without_marks = unicodedata.normalize("NFKD", text).translate(_WITHOUT_COMBINING_MARKS)
    return _INNER_APOSTROPHE.sub("", without_marks.lower())


def folded_words(folded: str) -> list[str]:
    """The word tokens of text that already went through `fold`."""
    return _WORD.findall(folded)


def words(text: str) -> list[str]:
    """The word tokens of `text`, normalised (see the module docstring)."""
    return _WORD.findall(fold(text))


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Reduce a normalised word to a key shared with its common inflections."""
    word = _SPELLING_VARIANTS.get(word, word)
    word = _ACRONYM_PLURALS.get(word, word)
    if any(ch.isdigit() for ch in word) or not word.isalpha() or len(word) <= 3:
        return word
    word = _ISE_SPELLING.sub(r"iz\1", word)
    stripped = word
    if word.endswith("eed"):
        # "agreed", "guaranteed" are past tenses of verbs ending in "ee"; "need", "speed" and the
        # listed verbs are base forms.
        if len(word) >= 6 and word not in _EED_BASE_WORDS:
            stripped = word[:-1]
    elif word.endswith(("ies", "ied")) and len(word) > 4:
        stripped = word[:-3] + "y"
    elif word.endswith("sses"):
        stripped = word[:-2]
    elif word.endswith("ing") and len(word) - 3 >= 3:
        stripped = word[:-3]
    elif word.endswith("ed") and len(word) - 2 >= 4:
        stripped = word[:-2]
    elif word.endswith("ed") and not word.endswith("eed"):
        # Short past tenses mostly drop a "d" from a verb ending in "e" ("based", "saved").
        stripped = word[:-1]
    elif word.endswith("es") and len(word) - 2 >= 3 and not word.endswith(("ses", "oes", "ees")):
        stripped = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        stripped = word[:-1]
    elif word.endswith("ly") and len(word) > 6:
        stripped = word[:-2]
    if stripped != word and len(stripped) >= 4 and stripped[-1] == stripped[-2] and stripped[-1] in _UNDOUBLE:
        stripped = stripped[:-1]
    if stripped.endswith("e") and len(stripped) > 3:
        stripped = stripped[:-1]
    return stripped


def stems(text: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in words(text))


# Phrases (key-point terms, rubric markers, skills) recur with every answer scored, while `stems`
# also sees whole answers that never recur: only phrases are worth caching.
@lru_cache(maxsize=16384)
def phrase_stems(phrase: str) -> tuple[str, ...]:
    """`stems` of a short phrase."""
    return stems(phrase)


def phrase_key(text: str) -> str:
    """A canonical key for a short phrase: its stems joined by single spaces."""
    return " ".join(stems(text))


def content_stems(text: str) -> set[str]:
    """Distinct stems of the words that carry meaning (no stopwords, no one-letter words)."""
    return content_stems_of(words(text))


def content_stems_of(normalised_words: Iterable[str]) -> set[str]:
    """`content_stems` of a text from its `words`."""
    return {stem(word) for word in normalised_words if word not in STOPWORDS and len(word) > 1}


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_BREAK.split(text.strip()) if part.strip()]


def capitalised_words(text: str) -> list[str]:
    """Capitalised words that do not open a sentence (names of products, companies, places), in
    order of first appearance, each once (compared case-insensitively), as written.

    The pronoun "I" is left out; acronyms ("AWS", "SQL") are kept.
    """
    found: dict[str, str] = {}
    for sentence in sentences(text):
        opening = _FIRST_WORD.search(sentence)
        opening_at = opening.start() if opening else 0
        for match in _CAPITALISED.finditer(sentence):
            name = match.group(0)
            if match.start() > opening_at and name != "I":
                found.setdefault(name.lower(), name)
    return list(found.values())


def join_labels(labels: Iterable[str], conjunction: str = "and") -> str:
    """ "a", "a and b", "a, b and c"; with semicolons when a label has its own "and" or comma
    ("x and y; z; and w"), so that the list still reads unambiguously."""
    items = list(labels)
    if len(items) <= 1:
        return items[0] if items else ""
    if any(f" {conjunction} " in item or "," in item for item in items):
        return f"{'; '.join(items[:-1])}; {conjunction} {items[-1]}"
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


class PhraseIndex:
    """The stems of a text, for phrase look-ups that respect word boundaries ("cache" never
    matches inside "cachet", "lock" never matches inside "deadlock"), and where each phrase
    first occurs."""

    def __init__(self, text: str) -> None:
        self._index(stems(text))

    @classmethod
    def from_stems(cls, text_stems: tuple[str, ...]) -> PhraseIndex:
        """The index of a text whose `stems` are already known."""
        index = cls.__new__(cls)
        index._index(text_stems)
        return index

    def _index(self, text_stems: tuple[str, ...]) -> None:
        self.stems: tuple[str, ...] = text_stems
        # Where each stem occurs, in order: a phrase can only start where its first stem does.
        self._starts: dict[str, list[int]] = {}
        for at, word_stem in enumerate(text_stems):
            self._starts.setdefault(word_stem, []).append(at)

    def __len__(self) -> int:
        return len(self.stems)

    def distinct_stems(self) -> KeysView[str]:
        return self._starts.keys()

    def position(self, phrase: str) -> int | None:
        """The word index where `phrase` first occurs, or None."""
        return self.position_of_stems(phrase_stems(phrase))

    def position_of_stems(self, key: tuple[str, ...]) -> int | None:
        """The word index where the run of stems `key` first occurs, or None."""
        if not key:
            return None
        starts = self._starts.get(key[0])
        if starts is None:
            return None
        width = len(key)
        if width == 1:
            return starts[0]
        text_stems = self.stems
        for start in starts:
            if text_stems[start : start + width] == key:
                return start
        return None

    def contains(self, phrase: str) -> bool:
        return self.position_of_stems(phrase_stems(phrase)) is not None

    def count_present(self, phrases: Iterable[str]) -> int:
        """How many of `phrases` occur at least once."""
        return sum(1 for phrase in phrases if self.contains(phrase))

    def present(self, phrases: Iterable[str]) -> list[str]:
        return [phrase for phrase in phrases if self.contains(phrase)]


class PhraseList:
    """A fixed list of phrases to look up in many texts, stemmed once.

    Only the phrases whose first stem occurs in the text are looked up, which matters for long
    lists (the rubric's technology terms and markers) checked against every answer.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases: tuple[str, ...] = tuple(phrases)
        self._by_first_stem: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for order, phrase in enumerate(self.phrases):
            key = phrase_stems(phrase)
            if key:
                self._by_first_stem.setdefault(key[0], []).append((order, key))

    def positions(self, index: PhraseIndex) -> list[tuple[int, int]]:
        """(place in this list, word index where it first occurs) of every phrase present in the
        indexed text, in list order."""
        by_first_stem = self._by_first_stem
        found = [
            (order, at)
            for first in by_first_stem.keys() & index.distinct_stems()
            for order, key in by_first_stem[first]
            if (at := index.position_of_stems(key)) is not None
        ]
        found.sort()
        return found

    def count_present(self, index: PhraseIndex) -> int:
        """`index.count_present(self.phrases)`."""
        return len(self.positions(index))

    def present(self, index: PhraseIndex) -> list[str]:
        """`index.present(self.phrases)`."""
        return [self.phrases[order] for order, _ in self.positions(index)]
