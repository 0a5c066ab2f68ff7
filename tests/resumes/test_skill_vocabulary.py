from __future__ import annotations

from pathlib import Path

import pytest

from server.resumes.skills import (
    SkillVocabulary,
    SkillVocabularyError,
    canonical_skill,
    default_vocabulary,
    known_skills,
)


def test_default_vocabulary_is_large_and_canonical() -> None:
    names = known_skills()
    assert len(names) >= 200
    assert len(set(names)) == len(names)
    assert all(name == name.lower().strip() for name in names)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("js", "javascript"),
        ("JS", "javascript"),
        ("k8s", "kubernetes"),
        ("postgres", "postgresql"),
        ("Golang", "go"),
        ("  Node   JS ", "node.js"),
        ("C++", "c++"),
        ("sklearn", "scikit-learn"),
        ("cobol-ish", None),
        ("", None),
    ],
)
def test_canonical_skill(written: str, canonical: str | None) -> None:
    assert canonical_skill(written) == canonical


def test_every_term_finds_its_own_skill() -> None:
    vocabulary = default_vocabulary()
    for name in vocabulary.names:
        skill = vocabulary.get(name)
        assert skill is not None
        for term in skill.terms:
            assert vocabulary.find(f"Skills: {term}, and more", skill_list=True) == [name], term


def test_ambiguous_terms_are_ignored_outside_skill_lists() -> None:
    vocabulary = default_vocabulary()
    assert vocabulary.find("Ready to go; we make things and rest") == []
    assert vocabulary.find("go, make, rest", skill_list=True) == ["go", "make", "rest"]


def test_matches_respect_token_boundaries() -> None:
    vocabulary = default_vocabulary()
    assert vocabulary.find("javascript") == ["javascript"]
    assert vocabulary.find("ASP.NET Core and C# and C++", skill_list=True) == [".net", "c#", "c++"]
    assert vocabulary.find("Pythonic code") == []


def test_a_term_owned_by_two_skills_is_refused() -> None:
    with pytest.raises(SkillVocabularyError, match="belongs to both"):
        SkillVocabulary.from_mapping(
            {"a": {"postgresql": {"aliases": ["pg"]}, "pgbouncer": {"aliases": ["pg"]}}}
        )


@pytest.mark.parametrize(
    "data",
    [
        {"languages": ["python"]},
        {"languages": {"python": "yes"}},
        {"languages": {"python": {"aliases": "py"}}},
        {"languages": {"python": {"aliases": [""]}}},
        {"languages": {"python": {"ambiguous": ["snake"]}}},
        {"languages": {"python": {"colour": "blue"}}},
    ],
    ids=[
        "category-not-table",
        "skill-not-table",
        "aliases-not-list",
        "empty-alias",
        "stray-ambiguous",
        "unknown-key",
    ],
)
def test_malformed_vocabularies_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(SkillVocabularyError):
        SkillVocabulary.from_mapping(data)


def test_vocabulary_file_must_be_valid_toml(tmp_path: Path) -> None:
    path = tmp_path / "skills.toml"
    path.write_text("[languages\npython = {}", encoding="utf-8")
    with pytest.raises(SkillVocabularyError, match="not valid TOML"):
        SkillVocabulary.from_file(path)
    path.write_text('[languages]\npython = { aliases = ["py3"] }\n', encoding="utf-8")
    assert SkillVocabulary.from_file(path).canonical("PY3") == "python"


def test_structuring_offers_the_same_vocabulary() -> None:
    from server.resumes import structuring

    assert structuring.known_skills() == known_skills()
    assert {"kubernetes", "postgresql", "javascript"} <= set(known_skills())
