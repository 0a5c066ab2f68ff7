"""Versioned prompt files and a strict renderer.

Each prompt lives in `<name>.<version>.md` next to this module. Everything before the first
section marker is a note for maintainers and is never sent; `<!-- system -->` and
`<!-- user -->` start the two messages. Placeholders use `str.format` syntax with plain names
only (`{language}`), and literal braces are doubled. Rendering refuses missing and unexpected
fields, so a renamed placeholder fails loudly instead of sending a prompt with a hole in it.

The tag (`"question.v1"`) is recorded with every result a prompt produced. Changing a prompt's
wording means adding a new version file and bumping `CURRENT_VERSIONS`, never editing a
released file in place.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

PromptName = str

CURRENT_VERSIONS: Mapping[PromptName, str] = {
    "question": "v1",
    "follow_up": "v1",
    "feedback": "v1",
    "scores": "v1",
    "resume": "v1",
    "repair": "v1",
}

SYSTEM_MARKER = "<!-- system -->"
USER_MARKER = "<!-- user -->"
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION_PATTERN = re.compile(r"^v[0-9]+$")
_FIELD_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class PromptError(Exception):
    """A prompt file is missing or malformed, or was rendered with the wrong fields."""


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    system: str
    user: str
    tag: str


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: PromptName
    version: str
    system_template: str
    user_template: str
    fields: frozenset[str]

    @property
    def tag(self) -> str:
        return f"{self.name}.{self.version}"

    def render(self, **values: str) -> RenderedPrompt:
        given = set(values)
        missing = sorted(self.fields - given)
        unexpected = sorted(given - self.fields)
        if missing or unexpected:
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected {', '.join(unexpected)}")
            raise PromptError(f"prompt {self.tag} rendered with wrong fields: {'; '.join(problems)}")
        for field, value in values.items():
            if not isinstance(value, str):
                raise PromptError(
                    f"prompt {self.tag} field {field!r} must be a str, got {type(value).__name__}"
                )
        return RenderedPrompt(
            system=self.system_template.format_map(values).strip(),
            user=self.user_template.format_map(values).strip(),
            tag=self.tag,
        )


def _template_fields(template: str, tag: str) -> set[str]:
    fields: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PromptError(f"prompt {tag} has a malformed placeholder: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not _FIELD_PATTERN.match(field) or spec or conversion:
            raise PromptError(
                f"prompt {tag} has placeholder {{{field}}} with attribute, index, format spec or "
                "conversion; only plain lower-case names are allowed (double literal braces)"
            )
        fields.add(field)
    return fields


def parse_prompt(name: PromptName, version: str, text: str) -> PromptTemplate:
    """Split a prompt file into its system and user templates and collect their fields."""
    tag = f"{name}.{version}"
    if USER_MARKER not in text:
        raise PromptError(f"prompt {tag} has no {USER_MARKER} section")
    before_user, _, user_template = text.partition(USER_MARKER)
    system_template = before_user.partition(SYSTEM_MARKER)[2] if SYSTEM_MARKER in before_user else ""
    if not user_template.strip():
        raise PromptError(f"prompt {tag} has an empty user section")
    fields = _template_fields(system_template, tag) | _template_fields(user_template, tag)
    return PromptTemplate(
        name=name,
        version=version,
        system_template=system_template,
        user_template=user_template,
        fields=frozenset(fields),
    )


@cache
def load_prompt(name: PromptName, version: str | None = None) -> PromptTemplate:
    """Load `<name>.<version>.md`; without a version, the one `CURRENT_VERSIONS` pins."""
    if not _NAME_PATTERN.match(name):
        raise PromptError(f"invalid prompt name {name!r}")
    chosen = version if version is not None else CURRENT_VERSIONS.get(name)
    if chosen is None:
        raise PromptError(f"unknown prompt {name!r}; known: {', '.join(sorted(CURRENT_VERSIONS))}")
    if not _VERSION_PATTERN.match(chosen):
        raise PromptError(f"invalid prompt version {chosen!r} (expected v1, v2, ...)")
    resource = resources.files(__name__).joinpath(f"{name}.{chosen}.md")
    if not resource.is_file():
        raise PromptError(f"prompt file {name}.{chosen}.md does not exist")
    return parse_prompt(name, chosen, resource.read_text(encoding="utf-8"))
