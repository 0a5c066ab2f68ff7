"""The structured profile extracted from a resume (api.md "Profile").

Absent facts are `None` or empty, never invented: every structurer, offline or LLM, must
return only what the resume text supports.
"""

from __future__ import annotations

import msgspec


class ExperienceEntry(msgspec.Struct, kw_only=True):
    title: str | None = None
    company: str | None = None
    start: str | None = None  # "YYYY-MM" or "YYYY" as written in the resume
    end: str | None = None  # same format, or None while current
    highlights: list[str] = msgspec.field(default_factory=list)


class EducationEntry(msgspec.Struct, kw_only=True):
    institution: str | None = None
    degree: str | None = None
    start: str | None = None
    end: str | None = None


class Profile(msgspec.Struct, kw_only=True):
    name: str | None = None
    headline: str | None = None
    email: str | None = None
    phone: str | None = None
    location: str | None = None
    summary: str | None = None
    skills: list[str] = msgspec.field(default_factory=list)
    experience: list[ExperienceEntry] = msgspec.field(default_factory=list)
    education: list[EducationEntry] = msgspec.field(default_factory=list)
    years_experience: float | None = None
