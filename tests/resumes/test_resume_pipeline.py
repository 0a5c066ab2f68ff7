"""Generated resumes go through extraction and offline structuring; the profile must hold
exactly the facts that were written into the file."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from factory import (
    BACKEND_ENGINEER,
    PRODUCT_DESIGNER,
    SPARSE,
    TODAY,
    ResumeSpec,
    resume_docx,
    resume_pdf,
)

from server.resumes.extraction import ExtractedText, extract_text, extract_text_async
from server.resumes.profile import Profile
from server.resumes.skills import default_vocabulary
from server.resumes.structuring import structure_resume_offline

Builder = Callable[..., bytes]

CASES = [
    pytest.param(spec, kind, builder, layout, id=f"{spec.name.split()[0].lower()}-{kind}-{layout}")
    for spec in (BACKEND_ENGINEER, PRODUCT_DESIGNER, SPARSE)
    for kind, builder, layouts in (
        ("pdf", resume_pdf, ("single", "stacked")),
        ("docx", resume_docx, ("table_skills", "dates_first")),
    )
    for layout in layouts
]


@pytest.mark.parametrize(("spec", "kind", "builder", "layout"), CASES)
def test_generated_resume_round_trips_to_its_facts(
    spec: ResumeSpec, kind: str, builder: Builder, layout: str
) -> None:
    extracted = extract_text(builder(spec, layout=layout))
    assert extracted.kind == kind
    assert not extracted.truncated
    if kind == "pdf":
        assert len(extracted.pages) == 1
    profile = structure_resume_offline(extracted.text, today=TODAY)
    assert_profile_matches(profile, spec, extracted.text)


async def test_async_extraction_gives_the_same_text_as_the_blocking_one() -> None:
    data = resume_docx(BACKEND_ENGINEER)
    blocking = extract_text(data)
    concurrent = await extract_text_async(data)
    assert concurrent == blocking
    assert isinstance(concurrent, ExtractedText)


def assert_profile_matches(profile: Profile, spec: ResumeSpec, text: str) -> None:
    assert profile.name == spec.name
    assert profile.headline == spec.headline
    assert profile.email == spec.email
    assert profile.phone == spec.phone
    assert profile.location == spec.location
    assert profile.summary == spec.summary

    # The listed skills come first, in their order; prose may add more, but only skills whose
    # name or alias really appears in the text.
    assert profile.skills[: len(spec.skills_expected)] == list(spec.skills_expected)
    vocabulary = default_vocabulary()
    lowered = text.lower()
    for skill_name in profile.skills:
        skill = vocabulary.get(skill_name)
        assert skill is not None
        assert any(re.search(rf"(?<!\w){re.escape(term)}(?!\w)", lowered) for term in skill.terms), skill_name

    assert len(profile.experience) == len(spec.jobs)
    for entry, job in zip(profile.experience, spec.jobs, strict=True):
        assert (entry.title, entry.company) == (job.title, job.company)
        assert (entry.start, entry.end) == (job.start, job.end)
        assert entry.highlights == list(job.highlights)

    assert len(profile.education) == len(spec.schools)
    for school_entry, school in zip(profile.education, spec.schools, strict=True):
        assert (school_entry.institution, school_entry.degree) == (school.institution, school.degree)
        assert (school_entry.start, school_entry.end) == (school.start, school.end)

    assert profile.years_experience == spec.years_experience
