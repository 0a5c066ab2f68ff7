"""The skill vocabulary (skills.toml): canonical names, their aliases, and matching in text.

Matching is done with one compiled regular expression per mode, built as a prefix trie so that
several hundred terms cost about as much as a handful. A term matches only as a whole token:
"java" does not match inside "javascript", and "c" does not match inside "c++".
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

DEFAULT_VOCABULARY_PATH = Path(__file__).with_name("skills.toml")

# Characters that continue a token: a term followed or preceded by one of these is part of a
# longer word ("c" in "c++", "java" in "javascript", "net" in "asp.net").
_WORD_CHARS = r"\w+#"


class SkillVocabularyError(ValueError):
    """skills.toml (or a mapping given in its place) is malformed."""


class Skill(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    category: str
    aliases: tuple[str, ...] = ()
    ambiguous: frozenset[str] = frozenset()

    @property
    def terms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def normalize_term(term: str) -> str:
    return " ".join(term.lower().split())


class SkillVocabulary:
    def __init__(self, skills: Iterable[Skill]) -> None:
        self._skills: dict[str, Skill] = {}
        self._by_term: dict[str, str] = {}
        ambiguous_terms: set[str] = set()
        for skill in skills:
            if skill.name in self._skills:
                raise SkillVocabularyError(f"skill {skill.name!r} is defined twice")
            self._skills[skill.name] = skill
            for term in skill.terms:
                owner = self._by_term.setdefault(term, skill.name)
                if owner != skill.name:
                    raise SkillVocabularyError(f"term {term!r} belongs to both {owner!r} and {skill.name!r}")
            ambiguous_terms.update(skill.ambiguous)
        all_terms = list(self._by_term)
        self._everywhere = _compile_terms([t for t in all_terms if t not in ambiguous_terms])
        self._in_skill_lists = _compile_terms(all_terms)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SkillVocabulary:
        """Build from the parsed TOML shape: {category: {name: {aliases, ambiguous}}}."""
        skills: list[Skill] = []
        for category, entries in data.items():
            if not isinstance(entries, Mapping):
                raise SkillVocabularyError(f"category {category!r} must be a table of skills")
            for raw_name, spec in entries.items():
                skills.append(_parse_skill(category, raw_name, spec))
        return cls(skills)

    @classmethod
    def from_file(cls, path: Path) -> SkillVocabulary:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SkillVocabularyError(f"{path} is not valid TOML: {exc}") from None
        return cls.from_mapping(data)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._skills)

    def __len__(self) -> int:
        return len(self._skills)

    def __contains__(self, name: object) -> bool:
        return name in self._skills

    def get(self, name: str) -> Skill | None:
        return self._skills.get(name)

    def canonical(self, term: str) -> str | None:
        """The canonical skill for a name or alias ("k8s" -> "kubernetes"), or None."""
        return self._by_term.get(normalize_term(term))

    def find(self, text: str, *, skill_list: bool = False) -> list[str]:
        """Canonical skills mentioned in `text`, in order of first mention, without repeats.

        `skill_list=True` is for text known to be a list of skills (a skills section or table),
        where ambiguous terms such as "go" or "r" can be trusted.
        """
        pattern = self._in_skill_lists if skill_list else self._everywhere
        if pattern is None:
            return []
        found: dict[str, None] = {}
        for match in pattern.finditer(text.lower()):
            term = " ".join(match.group(1).split())
            found.setdefault(self._by_term[term], None)
        return list(found)


def _parse_skill(category: str, raw_name: str, spec: Any) -> Skill:
    if not isinstance(spec, Mapping):
        raise SkillVocabularyError(f"skill {raw_name!r} in {category!r} must be a table")
    unknown = set(spec) - {"aliases", "ambiguous"}
    if unknown:
        raise SkillVocabularyError(f"skill {raw_name!r} has unknown keys: {sorted(unknown)}")
    name = normalize_term(raw_name)
    aliases = _term_list(spec.get("aliases", []), raw_name, "aliases")
    ambiguous = _term_list(spec.get("ambiguous", []), raw_name, "ambiguous")
    if not name:
        raise SkillVocabularyError(f"empty skill name in {category!r}")
    terms = {name, *aliases}
    stray = [term for term in ambiguous if term not in terms]
    if stray:
        raise SkillVocabularyError(f"skill {name!r} marks unknown terms as ambiguous: {stray}")
    return Skill(
        name=name,
        category=category,
        aliases=tuple(dict.fromkeys(alias for alias in aliases if alias != name)),
        ambiguous=frozenset(ambiguous),
    )


def _term_list(value: Any, name: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise SkillVocabularyError(f"skill {name!r}: {key} must be a list of non-empty strings")
    return [normalize_term(item) for item in value]


def _compile_terms(terms: Sequence[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    body = _trie_regex(_build_trie(terms))
    return re.compile(rf"(?<![{_WORD_CHARS}.])({body})(?![{_WORD_CHARS}])")


_END = ""  # trie key marking that a term ends at this node


def _build_trie(terms: Iterable[str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for term in terms:
        node = root
        for char in term:
            node = node.setdefault(char, {})
        node[_END] = {}
    return root


def _trie_regex(node: Mapping[str, Any]) -> str:
    """A regex for every term in the trie; longer terms are tried before their prefixes."""
    branches = [
        (r"\s+" if char == " " else re.escape(char)) + _trie_regex(child)
        for char, child in sorted(node.items())
        if char != _END
    ]
    optional = _END in node
    if not branches:
        return ""
    if len(branches) == 1 and not optional:
        return branches[0]
    # A term ending here must still win over nothing, but lose to a longer continuation: "c"
    # is only kept when "c++" does not match, thanks to regex backtracking plus the boundary
    # check that follows the group.
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if optional else group


@functools.cache
def default_vocabulary() -> SkillVocabulary:
    return SkillVocabulary.from_file(DEFAULT_VOCABULARY_PATH)


def known_skills() -> tuple[str, ...]:
    """Every canonical skill name, in vocabulary order (for matching question tags)."""
    return default_vocabulary().names


def canonical_skill(term: str) -> str | None:
    """Map a skill as people write it ("JS", "k8s", "Postgres") to its canonical name."""
    return default_vocabulary().canonical(term)
