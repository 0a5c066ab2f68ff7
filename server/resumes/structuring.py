"""Rule-based resume structuring: extracted text in, `Profile` out, no network and no model.

This is the offline path (and the fallback when no LLM provider answers). It prefers leaving a
field empty to guessing: a fact is filled in only when a rule recognises it in the text.

The text is read as lines. Lines that name a known section ("Work history", "EDUCATION",
"Technical skills:") split the resume into sections; the lines before the first heading are
the header, where the name, headline and contact details live. Experience entries are anchored
on date ranges, and the one or two short lines around each range give the title and company.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from server.resumes.profile import EducationEntry, ExperienceEntry, Profile
from server.resumes.skills import SkillVocabulary, default_vocabulary, known_skills

# known_skills is re-exported: the interview engine matches resume skills to question tags
# with the same vocabulary this module uses.
__all__ = ["known_skills", "structure_resume_offline"]

# --- Section headings ----------------------------------------------------------------------

_SECTION_HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary",
        "professional summary",
        "career summary",
        "executive summary",
        "profile",
        "professional profile",
        "personal profile",
        "about",
        "about me",
        "objective",
        "career objective",
        "overview",
        "introduction",
    ),
    "experience": (
        "experience",
        "work experience",
        "professional experience",
        "relevant experience",
        "work history",
        "employment",
        "employment history",
        "career history",
        "professional history",
        "career",
        "positions held",
    ),
    "education": (
        "education",
        "academic background",
        "academic history",
        "education and training",
        "academic qualifications",
        "qualifications",
        "studies",
    ),
    "skills": (
        "skills",
        "technical skills",
        "key skills",
        "core skills",
        "skills and tools",
        "skills and technologies",
        "tools and technologies",
        "technologies",
        "tech stack",
        "technical proficiencies",
        "competencies",
        "core competencies",
        "areas of expertise",
        "expertise",
        "toolbox",
        "tools",
        "frameworks",
        "programming languages",
        "languages and frameworks",
        "languages and technologies",
    ),
    "projects": ("projects", "personal projects", "selected projects", "side projects", "open source"),
    "certifications": (
        "certifications",
        "certificates",
        "licenses and certifications",
        "courses",
        "training",
    ),
    "languages": ("languages", "spoken languages", "language skills"),
    "awards": ("awards", "honors", "honours", "achievements", "awards and honors"),
    "publications": ("publications", "talks", "publications and talks"),
    "volunteering": ("volunteering", "volunteer experience", "volunteer work"),
    "interests": ("interests", "hobbies", "hobbies and interests"),
    "references": ("references", "referees"),
    "contact": (
        "contact",
        "contact details",
        "contact information",
        "personal details",
        "personal information",
    ),
}
_HEADING_TO_SECTION = {
    heading: section for section, headings in _SECTION_HEADINGS.items() for heading in headings
}
_MAX_HEADING_LENGTH = 40

# --- Line shapes ---------------------------------------------------------------------------

_BULLET = re.compile(
    r"^(?:[\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2219\u00b7\u25ba\u25b6\u27a2\u27a4\u2713\u2714\uf0b7]|[-\u2013\u2014*>](?=\s))\s*"
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|io|dev|org|net|me|app)/\S*", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w+])(\+?\(?\d[\d\s().\-/]{5,}\d)(?![\w])")
# "Mobile: +44 ...", "Tel. 0123 ..." but not "Mobile Developer".
_PHONE_LABEL = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|mob)\b\.?\s*(?::\s*|(?=[+(\d]))", re.IGNORECASE
)
_YEAR_RANGE_ONLY = re.compile(r"^\s*(?:19|20)\d{2}\s*[-\u2013\u2014/]\s*(?:19|20)\d{2}\s*$")
_LOCATION_LABEL = re.compile(r"^\s*(?:location|address|based in|city)\s*:?\s+(.+)$", re.IGNORECASE)
# Separators between the pieces of a header line ("Jane Doe | Engineer | jane@x.io").
_HEADER_SPLIT = re.compile(r"\s*(?:\||\u2022|\u00b7|\u25cf|\t|\s{3,}|\s[\u2013\u2014]\s)\s*")
_SENTENCE_END = re.compile(r"[.!?]\s*$")

_NAME_PARTICLES = frozenset(
    {
        "van",
        "von",
        "de",
        "da",
        "del",
        "della",
        "di",
        "du",
        "la",
        "le",
        "bin",
        "al",
        "der",
        "den",
        "dos",
        "das",
        "y",
    }
)
_NOT_NAMES = frozenset({"resume", "résumé", "curriculum vitae", "cv", "curriculum", "vitae"})

# Words that mark a job title (case-insensitive, whole words).
_TITLE_WORDS = re.compile(
    r"\b(?:engineer|developer|programmer|architect|manager|lead|leader|head|director|"
    r"intern|internship|analyst|scientist|designer|consultant|administrator|admin|specialist|officer|"
    r"founder|co-founder|cto|ceo|cfo|coo|vp|vice president|president|principal|staff|senior|junior|"
    r"associate|assistant|technician|tester|qa|sre|devops|owner|coordinator|researcher|fellow|"
    r"contractor|freelancer|freelance|teacher|instructor|lecturer|professor|student|trainee|"
    r"apprentice|advisor|strategist|editor|writer|partner|chief|supervisor|operator|representative)\b",
    re.IGNORECASE,
)
# Words that mark an organisation.
# Only words that name an organisation and rarely a role ("software" and "systems" appear in both).
_COMPANY_WORDS = re.compile(
    r"\b(?:inc|ltd|llc|llp|plc|gmbh|ag|sarl|sas|bv|nv|oy|srl|pty|corp|corporation|company|"
    r"group|holdings|labs|ventures|bank|agency|foundation|university|institute|hospital|ministry)\b",
    re.IGNORECASE,
)
_CORPORATE_SUFFIX = re.compile(
    r"^(?:inc|ltd|llc|llp|plc|gmbh|ag|sa|sas|bv|nv|oy|ab|srl|pty|corp|co)\.?$", re.IGNORECASE
)

# --- Dates ---------------------------------------------------------------------------------

_MONTHS = {
    name: index
    for index in range(1, 13)
    for name in {calendar.month_name[index].lower(), calendar.month_abbr[index].lower()}
}
_MONTHS["sept"] = 9
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))


def _date_pattern(prefix: str) -> str:
    """One date as resumes write it: "Jan 2020", "March 2019", "03/2019", "2019-03", "2019"."""
    return (
        rf"(?:(?P<{prefix}mon>{_MONTH_NAMES})\.?,?\s+(?:'|\u2019)?(?P<{prefix}monyear>\d{{4}})"
        rf"|(?P<{prefix}num_month>\d{{1,2}})\s*[/.]\s*(?P<{prefix}num_year>\d{{4}})"
        rf"|(?P<{prefix}iso_year>\d{{4}})[-/.](?P<{prefix}iso_month>\d{{1,2}})(?!\d)"
        rf"|(?P<{prefix}year>\d{{4}}))"
    )


_PRESENT = r"(?P<present>present|current|currently|now|today|ongoing|to date|till date)"
_RANGE_SEPARATOR = r"\s*(?:-|\u2013|\u2014|\u2012|to|until|till|through|\u2192|->|~)\s*"
_DATE_RANGE = re.compile(
    rf"(?<![\w/.]){_date_pattern('s_')}{_RANGE_SEPARATOR}(?:{_date_pattern('e_')}|{_PRESENT})(?![\w/])",
    re.IGNORECASE,
)
_SINGLE_DATE = re.compile(rf"(?<![\w/.]){_date_pattern('')}(?![\w/])", re.IGNORECASE)
_MIN_YEAR = 1950

# --- Education -----------------------------------------------------------------------------

_DEGREE = re.compile(
    r"\b(?:bachelor(?:'s|s)?|master(?:'s|s)?|doctor(?:ate)?|ph\.?\s?d\.?|d\.?phil|mba|m\.?b\.?a\.?|"
    r"b\.?\s?sc\.?|m\.?\s?sc\.?|bsc|msc|b\.?\s?eng\.?|m\.?\s?eng\.?|beng|meng|b\.?\s?tech|m\.?\s?tech|"
    r"b\.\s?s\.|m\.\s?s\.|b\.\s?a\.|m\.\s?a\.|bs|ms|ba|ma|bfa|mfa|llb|llm|jd|associate(?:'s)? degree|"
    r"diploma|certificate|high school|a-levels|baccalaureate|abitur|licenciatura|degree|postgraduate)(?!\w)",
    re.IGNORECASE,
)
_INSTITUTION = re.compile(
    r"\b(?:university|universit[yàéä]t?|universidad|universidade|università|université|universität|"
    r"college|institute|institut|instituto|school|academy|akademie|polytechnic|politecnico|"
    r"hochschule|école|ecole|conservatory|seminary|bootcamp)\b",
    re.IGNORECASE,
)

# --- Locations -----------------------------------------------------------------------------

# Country names (and common short forms) accepted as the last part of a location.
_COUNTRY_NAMES = """
Argentina; Australia; Austria; Bangladesh; Belgium; Bolivia; Brazil; Bulgaria; Canada; Chile;
China; Colombia; Costa Rica; Croatia; Cyprus; Czechia; Czech Republic; Denmark; Ecuador; Egypt;
Estonia; Ethiopia; Finland; France; Georgia; Germany; Ghana; Greece; Hong Kong; Hungary;
Iceland; India; Indonesia; Iran; Ireland; Israel; Italy; Japan; Jordan; Kazakhstan; Kenya;
Latvia; Lebanon; Lithuania; Luxembourg; Malaysia; Malta; Mexico; Moldova; Morocco; Nepal;
Netherlands; The Netherlands; New Zealand; Nigeria; Norway; Pakistan; Panama; Peru; Philippines;
Poland; Portugal; Qatar; Romania; Rwanda; Saudi Arabia; Serbia; Singapore; Slovakia; Slovenia;
South Africa; South Korea; Korea; Spain; Sri Lanka; Sweden; Switzerland; Taiwan; Tanzania;
Thailand; Tunisia; Turkey; Türkiye; Uganda; Ukraine; United Arab Emirates; UAE; United Kingdom;
UK; U.K.; England; Scotland; Wales; Northern Ireland; United States; United States of America;
USA; U.S.A.; US; U.S.; Uruguay; Venezuela; Vietnam; Viet Nam; Zimbabwe; Armenia; Azerbaijan;
Belarus; Bosnia and Herzegovina; Albania; North Macedonia; Montenegro; Kosovo; Algeria;
Cameroon; Senegal; Ivory Coast; Uzbekistan; Mongolia; Cambodia; Myanmar; Dominican Republic;
Guatemala; Honduras; El Salvador; Paraguay; Cuba; Jamaica
"""
_COUNTRIES = frozenset(name.strip().lower() for name in _COUNTRY_NAMES.split(";") if name.strip())
# US states and territories, then Canadian provinces ("Austin, TX", "Toronto, ON").
_REGION_CODE_LIST = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
    "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR ON QC BC AB MB SK NS NB NL PE YT NT NU"
)
_REGION_CODES = frozenset(_REGION_CODE_LIST.split())
_LOCATION_PIECE = re.compile(r"^[^\W\d_][\w.'\u2019 -]{0,40}$")
_REMOTE = re.compile(r"^remote(?:\s*\(.*\))?$", re.IGNORECASE)


@dataclass
class _Sections:
    header: list[str] = field(default_factory=list)
    bodies: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> list[str]:
        return self.bodies.get(name, [])


@dataclass
class _DateRange:
    start: tuple[int, int | None]
    end: tuple[int, int | None] | None  # None: present
    span: tuple[int, int]  # character span in the line


def structure_resume_offline(
    text: str, *, today: date | None = None, vocabulary: SkillVocabulary | None = None
) -> Profile:
    """Turn extracted resume text into a Profile using rules only.

    `today` decides what "Present" means (tests pin it); `vocabulary` defaults to skills.toml.
    """
    if not isinstance(text, str):
        raise TypeError(f"resume text must be a str, not {type(text).__name__}")
    today = today or date.today()
    vocabulary = vocabulary or default_vocabulary()
    lines = _normalize_lines(text)
    sections = _split_sections(lines)

    contact_lines = [*sections.header, *sections.get("contact")]
    name, name_index = _find_name(sections.header)
    experience_lines = sections.get("experience")
    return Profile(
        name=name,
        headline=_find_headline(sections.header, name_index),
        email=_find_email(contact_lines, lines),
        phone=_find_phone(contact_lines, lines),
        location=_find_location(contact_lines),
        summary=_find_summary(sections, name_index),
        skills=_find_skills(sections, vocabulary),
        experience=_parse_experience(experience_lines, today),
        education=_parse_education(sections.get("education"), today),
        years_experience=_years_of_experience(experience_lines, today),
    )


# --- Lines and sections --------------------------------------------------------------------


def _normalize_lines(text: str) -> list[str]:
    # NFKC folds ligatures ("ﬁ") and full-width forms that PDF text extraction produces.
    text = unicodedata.normalize("NFKC", text)
    lines = (raw.replace("\u200b", "").strip() for raw in text.splitlines())
    return [line for line in lines if line]


def _heading_key(line: str) -> str:
    candidate = line.strip().strip("#*=_:|-\u2013\u2014 ").strip()
    words = candidate.split()
    # "E X P E R I E N C E": some templates letter-space their headings.
    if len(words) > 3 and all(len(word) == 1 for word in words):
        candidate = "".join(words)
    candidate = candidate.lower().replace("&", " and ").replace("/", " and ")
    return " ".join(candidate.split())


def _section_heading(line: str, current: str | None = None) -> tuple[str, str] | None:
    """(section, rest of the line) when the line opens a section, e.g. "Skills: Python, Go"."""
    if len(line) <= _MAX_HEADING_LENGTH:
        section = _HEADING_TO_SECTION.get(_heading_key(line))
        if section is not None:
            return section, ""
    label, colon, rest = line.partition(":")
    if colon and rest.strip() and len(label) <= _MAX_HEADING_LENGTH:
        section = _HEADING_TO_SECTION.get(_heading_key(label))
        # Inside a skills section, "Languages: Go, Rust" or "Tools: ..." is a sub-list, not a
        # new section.
        if section is not None and current != "skills":
            return section, rest.strip()
    return None


def _split_sections(lines: Sequence[str]) -> _Sections:
    sections = _Sections()
    current_name: str | None = None
    current: list[str] = sections.header
    for line in lines:
        heading = _section_heading(line, current_name)
        if heading is None:
            current.append(line)
            continue
        current_name, rest = heading
        current = sections.bodies.setdefault(current_name, [])
        if rest:
            current.append(rest)
    return sections


def _is_bullet(line: str) -> bool:
    return bool(_BULLET.match(line))


def _strip_bullet(line: str) -> str:
    return _BULLET.sub("", line, count=1).strip()


def _header_pieces(line: str) -> list[str]:
    return [piece.strip(" ,;") for piece in _HEADER_SPLIT.split(line) if piece.strip(" ,;")]


# --- Header facts --------------------------------------------------------------------------


def _looks_like_name(piece: str) -> bool:
    if any(char.isdigit() for char in piece) or any(char in piece for char in "@:/()|,"):
        return False
    if piece.lower() in _NOT_NAMES or _section_heading(piece) is not None or _TITLE_WORDS.search(piece):
        return False
    words = piece.split()
    if not 2 <= len(words) <= 5:
        return False
    capitalised = 0
    for word in words:
        core = word.strip(".,")
        if core.lower() in _NAME_PARTICLES:
            continue
        if not core or not core[0].isalpha() or not core[0].isupper():
            return False
        if not all(char.isalpha() or char in "'\u2019-." for char in core):
            return False
        capitalised += 1
    return capitalised >= 2


def _find_name(header: Sequence[str]) -> tuple[str | None, int]:
    """The first plausible name among the first header lines, and its line index (-1 if none).

    Only the first piece of a line can be the name ("Jane Doe | Engineer | jane@x.io").
    """
    for index, line in enumerate(header[:3]):
        pieces = _header_pieces(line)
        if pieces and _looks_like_name(pieces[0]):
            return pieces[0], index
    return None, -1


def _is_contact_piece(piece: str) -> bool:
    return bool(
        _EMAIL.search(piece)
        or _URL.search(piece)
        or _PHONE_LABEL.match(piece)
        or _phone_in(piece)
        or _location_in(piece)
    )


def _plausible_headline(text: str) -> bool:
    words = text.split()
    return (
        1 <= len(words) <= 12
        and any(char.isalpha() for char in text)
        and not _SENTENCE_END.search(text)
        and _section_heading(text) is None
    )


def _find_headline(header: Sequence[str], name_index: int) -> str | None:
    """The short line (or line piece) right after the name, when it is not contact details."""
    if name_index < 0:
        return None
    for line_index in range(name_index, min(len(header), name_index + 3)):
        pieces = _header_pieces(header[line_index])
        if line_index == name_index:
            pieces = pieces[1:]
        elif not any(_is_contact_piece(piece) for piece in pieces):
            # A line without contact details is the headline as a whole, separators included.
            return header[line_index] if _plausible_headline(header[line_index]) else None
        for piece in pieces:
            if _is_contact_piece(piece):
                continue
            return piece if _plausible_headline(piece) else None
    return None


def _find_email(contact_lines: Sequence[str], all_lines: Sequence[str]) -> str | None:
    for line in (*contact_lines, *all_lines):
        match = _EMAIL.search(line)
        if match:
            return match.group(0)
    return None


def _phone_in(text: str) -> str | None:
    for match in _PHONE.finditer(text):
        candidate = match.group(1).strip()
        digits = sum(char.isdigit() for char in candidate)
        if not 7 <= digits <= 15 or _YEAR_RANGE_ONLY.match(candidate) or _DATE_RANGE.search(candidate):
            continue
        return " ".join(candidate.split())
    return None


def _find_phone(contact_lines: Sequence[str], all_lines: Sequence[str]) -> str | None:
    for line in contact_lines:
        for piece in _header_pieces(line):
            if len(piece.split()) > 6:
                continue  # prose: its figures ("served 20 000 000 users") are not phone numbers
            phone = _phone_in(_EMAIL.sub(" ", _URL.sub(" ", piece)))
            if phone:
                return phone
    # Elsewhere only a labelled number counts: bare digit runs there are dates and figures.
    for line in all_lines:
        label = _PHONE_LABEL.search(line)
        if label:
            phone = _phone_in(line[label.end() :])
            if phone:
                return phone
    return None


def _location_in(piece: str) -> str | None:
    """A location written as "City, Country", "City, ST", "City, Region, Country" or a country."""
    piece = piece.strip(" ,;()")
    labelled = _LOCATION_LABEL.match(piece)
    if labelled:
        return labelled.group(1).strip(" ,;") or None
    if _REMOTE.match(piece):
        return piece
    parts = [part.strip() for part in piece.split(",")]
    if not all(part and _LOCATION_PIECE.match(part) and len(part.split()) <= 4 for part in parts):
        return None
    last = parts[-1]
    if len(parts) == 1:
        return piece if last.lower() in _COUNTRIES and len(last) > 3 else None
    if len(parts) <= 3 and (last.lower() in _COUNTRIES or last in _REGION_CODES):
        return ", ".join(parts)
    return None


def _find_location(contact_lines: Sequence[str]) -> str | None:
    for line in contact_lines:
        labelled = _LOCATION_LABEL.match(line)
        if labelled:
            return labelled.group(1).strip(" ,;") or None
        for piece in _header_pieces(line):
            if _EMAIL.search(piece) or _URL.search(piece) or _looks_like_name(piece):
                continue
            location = _location_in(piece)
            if location:
                return location
    return None


def _find_summary(sections: _Sections, name_index: int) -> str | None:
    body = sections.get("summary")
    if body:
        return " ".join(_strip_bullet(line) if _is_bullet(line) else line for line in body)
    # Untitled introductions: prose paragraphs in the header, below the name and contacts.
    prose = [
        line
        for index, line in enumerate(sections.header)
        if index > name_index and len(line.split()) >= 12 and not (_EMAIL.search(line) or _URL.search(line))
    ]
    return " ".join(prose) if prose else None


def _find_skills(sections: _Sections, vocabulary: SkillVocabulary) -> list[str]:
    found: dict[str, None] = {}
    listed = "\n".join([*sections.get("skills"), *sections.get("languages")])
    for skill in vocabulary.find(listed, skill_list=True):
        found.setdefault(skill, None)
    # Skills named in prose count too, but only unambiguous terms ("go" in a sentence is a verb).
    prose_sections = [name for name in sections.bodies if name not in ("skills", "languages", "references")]
    prose = "\n".join([*sections.header, *(line for name in prose_sections for line in sections.get(name))])
    # Addresses are not mentions: "github.com/jane" does not say the person knows git.
    prose = _EMAIL.sub(" ", _URL.sub(" ", prose))
    for skill in vocabulary.find(prose):
        found.setdefault(skill, None)
    return list(found)


# --- Dates ---------------------------------------------------------------------------------


def _date_from(match: re.Match[str], prefix: str, today: date) -> tuple[int, int | None] | None:
    groups = match.groupdict()
    if groups.get(prefix + "mon"):
        year, month = int(groups[prefix + "monyear"]), _MONTHS[groups[prefix + "mon"].lower()]
    elif groups.get(prefix + "num_year"):
        year, month = int(groups[prefix + "num_year"]), int(groups[prefix + "num_month"])
    elif groups.get(prefix + "iso_year"):
        year, month = int(groups[prefix + "iso_year"]), int(groups[prefix + "iso_month"])
    elif groups.get(prefix + "year"):
        year, month = int(groups[prefix + "year"]), 0
    else:
        return None
    if not _MIN_YEAR <= year <= today.year + 10 or not 0 <= month <= 12:
        return None
    return year, month or None


def _find_date_range(line: str, today: date) -> _DateRange | None:
    for match in _DATE_RANGE.finditer(line):
        start = _date_from(match, "s_", today)
        if start is None:
            continue
        if match.group("present"):
            return _DateRange(start=start, end=None, span=match.span())
        end = _date_from(match, "e_", today)
        if end is None or _month_index(end, is_end=True) < _month_index(start, is_end=False):
            continue
        return _DateRange(start=start, end=end, span=match.span())
    return None


def _find_single_date(line: str, today: date) -> tuple[tuple[int, int | None], tuple[int, int]] | None:
    for match in _SINGLE_DATE.finditer(line):
        parsed = _date_from(match, "", today)
        if parsed is not None:
            return parsed, match.span()
    return None


def _format_date(value: tuple[int, int | None]) -> str:
    year, month = value
    return f"{year:04d}-{month:02d}" if month else f"{year:04d}"


def _month_index(value: tuple[int, int | None], *, is_end: bool) -> float:
    """Months since year 0.

    A named end month counts in full; a bare year is read as its middle, so "2018-2021" counts
    three years rather than two or four.
    """
    year, month = value
    if month is None:
        return year * 12 + 6.0
    return year * 12 + (month - 1) + (1.0 if is_end else 0.0)


def _today_index(today: date) -> float:
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    return today.year * 12 + (today.month - 1) + (today.day - 1) / days_in_month


# --- Experience ----------------------------------------------------------------------------


@dataclass
class _EntryLayout:
    anchor: int  # the line holding the date range
    header: list[int]  # lines (before or after the anchor) naming the title and company
    body_start: int = 0
    body_end: int = 0


def _parse_experience(lines: Sequence[str], today: date) -> list[ExperienceEntry]:
    ranges = [_find_date_range(line, today) for line in lines]
    anchors = [index for index, found in enumerate(ranges) if found is not None]
    if not anchors:
        return _experience_without_dates(lines)

    layouts: list[_EntryLayout] = []
    floor = -1  # the last line already claimed by the previous entry's header
    for position, anchor in enumerate(anchors):
        next_anchor = anchors[position + 1] if position + 1 < len(anchors) else None
        range_found = ranges[anchor]
        assert range_found is not None
        before = _header_lines_before(lines, anchor, floor, _anchor_remainder(lines[anchor], range_found))
        layout = _EntryLayout(anchor=anchor, header=before)
        title, company = _title_and_company(_header_texts(lines, layout, range_found))
        after = _header_lines_after(lines, anchor, next_anchor) if title is None or company is None else []
        if before and after:
            # With a header above the dates, a line below is taken only when its wording names
            # the missing part; otherwise it is the first line of the description.
            missing = "title" if title is None else "company"
            after = after[:1] if _role_of(lines[after[0]]) == missing else []
        layout.header += after
        layout.body_start = max([anchor, *layout.header]) + 1
        floor = layout.body_start - 1
        layouts.append(layout)
    for layout, following in zip(layouts, [*layouts[1:], None], strict=True):
        if following is None:
            layout.body_end = len(lines)
        else:
            layout.body_end = min([following.anchor, *following.header])

    entries: list[ExperienceEntry] = []
    for layout in layouts:
        date_range = ranges[layout.anchor]
        assert date_range is not None
        title, company = _title_and_company(_header_texts(lines, layout, date_range))
        entries.append(
            ExperienceEntry(
                title=title,
                company=company,
                start=_format_date(date_range.start),
                end=_format_date(date_range.end) if date_range.end else None,
                highlights=_highlights(lines[layout.body_start : max(layout.body_start, layout.body_end)]),
            )
        )
    return entries


def _anchor_remainder(line: str, date_range: _DateRange) -> str:
    remainder = f"{line[: date_range.span[0]]} {line[date_range.span[1] :]}"
    return remainder.strip(" |,;:()[]\u2013\u2014-\t")


def _header_texts(lines: Sequence[str], layout: _EntryLayout, date_range: _DateRange) -> list[str]:
    before = [lines[index] for index in layout.header if index < layout.anchor]
    after = [lines[index] for index in layout.header if index > layout.anchor]
    remainder = _anchor_remainder(lines[layout.anchor], date_range)
    return [*before, *([remainder] if remainder else []), *after]


def _is_header_candidate(line: str) -> bool:
    words = line.split()
    return (
        not _is_bullet(line)
        and len(line) <= 100
        and len(words) <= 14
        and not (_SENTENCE_END.search(line) and len(words) > 6)
    )


def _header_lines_before(lines: Sequence[str], anchor: int, floor: int, remainder: str) -> list[int]:
    """Up to two short lines right above a date line; one when it already names title and company."""
    nearest = anchor - 1
    if nearest <= floor or not _is_header_candidate(lines[nearest]):
        return []
    title, company = _title_and_company([lines[nearest], remainder])
    if (title and company) or nearest - 1 <= floor or not _is_header_candidate(lines[nearest - 1]):
        return [nearest]
    return [nearest - 1, nearest]


def _header_lines_after(lines: Sequence[str], anchor: int, next_anchor: int | None) -> list[int]:
    """Short lines right below a date line ("Jan 2020 - Present" / "Engineer" / "Acme")."""
    chosen: list[int] = []
    limit = len(lines) if next_anchor is None else next_anchor
    index = anchor + 1
    while index < limit and len(chosen) < 2 and _is_header_candidate(lines[index]):
        # Short lines directly above the next date line are that entry's header, not ours.
        if next_anchor is not None and all(_is_header_candidate(line) for line in lines[index:next_anchor]):
            break
        chosen.append(index)
        index += 1
    return chosen


def _highlights(lines: Sequence[str]) -> list[str]:
    highlights: list[str] = []
    for line in lines:
        if _is_bullet(line):
            text = _strip_bullet(line)
            if text:
                highlights.append(text)
        elif highlights and (line[0].islower() or line[0].isdigit()):
            # A bullet that the PDF layout wrapped onto the next line.
            highlights[-1] = f"{highlights[-1]} {line}"
        elif len(line.split()) >= 4:
            highlights.append(line)
    return highlights


def _drop_location_tail(parts: list[str]) -> list[str]:
    """["Acme", "Berlin", "Germany"] -> ["Acme"]: where a job was is not who it was for."""
    for cut in range(1, len(parts)):
        if _location_in(", ".join(parts[cut:])):
            return parts[:cut]
    return parts


def _split_header_text(text: str) -> list[tuple[str, str]]:
    """Pieces of an entry header, tagged "title" or "company" when the wording says so."""
    at_split = re.split(r"\s+(?:at|@)\s+", text, maxsplit=1, flags=re.IGNORECASE)
    if len(at_split) == 2 and all(part.strip(" ,|") for part in at_split):
        company_parts = _drop_location_tail([part.strip() for part in at_split[1].split(",")])
        return [(at_split[0].strip(" ,|"), "title"), (", ".join(company_parts).strip(" ,|"), "company")]
    pieces: list[str] = []
    for chunk in re.split(r"\s*(?:\||\s[\u2013\u2014-]\s|\u2022|\u00b7|\t|\s{3,})\s*", text):
        parts: list[str] = []
        for part in chunk.split(","):
            part = part.strip(" ()[];:")
            if not part:
                continue
            if parts and _CORPORATE_SUFFIX.match(part):
                parts[-1] = f"{parts[-1]}, {part}"
            else:
                parts.append(part)
        if parts and not _location_in(", ".join(parts)):
            pieces.extend(_drop_location_tail(parts))
    return [(piece, "") for piece in pieces]


def _role_of(piece: str) -> str:
    """Whether a header piece reads as a job title ("title"), an employer ("company") or neither."""
    is_title = bool(_TITLE_WORDS.search(piece))
    is_company = bool(_COMPANY_WORDS.search(piece))
    if is_title and is_company:
        # "Research Fellow, Oak University Hospital" is split before it gets here; a single
        # piece with both kinds of word ("Partner Bank") is decided by its last word, as
        # English puts the head noun last.
        return "title" if _TITLE_WORDS.fullmatch(piece.split()[-1]) else "company"
    return "title" if is_title else "company" if is_company else ""


def _title_and_company(texts: Iterable[str]) -> tuple[str | None, str | None]:
    pieces: list[tuple[str, str]] = []
    for text in texts:
        pieces.extend(_split_header_text(text))
    title = next((piece for piece, role in pieces if role == "title"), None)
    company = next((piece for piece, role in pieces if role == "company"), None)
    untagged = [piece for piece, role in pieces if not role]
    judged = [(piece, _role_of(piece)) for piece in untagged]
    if title is None:
        title = next((piece for piece, role in judged if role == "title"), None)
    if company is None:
        company = next((piece for piece, role in judged if role == "company" and piece != title), None)
    unknown = [piece for piece, role in judged if not role and piece not in (title, company)]
    # Without telling words, resumes put the role first and the employer second.
    if title is None and unknown:
        title = unknown.pop(0)
    if company is None and unknown:
        company = unknown.pop(0)
    return title, company


def _experience_without_dates(lines: Sequence[str]) -> list[ExperienceEntry]:
    """Undated entries: one or two short header lines followed by bullet points."""
    entries: list[ExperienceEntry] = []
    index = 0
    while index < len(lines):
        header: list[str] = []
        while index < len(lines) and len(header) < 2 and _is_header_candidate(lines[index]):
            header.append(lines[index])
            index += 1
        body_start = index
        while index < len(lines) and not (
            _is_header_candidate(lines[index]) and index > body_start and _is_bullet(lines[index - 1])
        ):
            index += 1
        highlights = _highlights(lines[body_start:index])
        if header and highlights:
            title, company = _title_and_company(header)
            entries.append(ExperienceEntry(title=title, company=company, highlights=highlights))
    return entries


def _years_of_experience(lines: Sequence[str], today: date) -> float | None:
    """Total time covered by the experience date ranges, overlaps counted once."""
    now = _today_index(today)
    intervals: list[tuple[float, float]] = []
    for line in lines:
        found = _find_date_range(line, today)
        if found is None:
            continue
        start = _month_index(found.start, is_end=False)
        end = now if found.end is None else min(_month_index(found.end, is_end=True), now)
        if end > start:
            intervals.append((start, end))
    if not intervals:
        return None
    intervals.sort()
    total = 0.0
    current_start, current_end = intervals[0]
    for start, end in intervals[1:]:
        if start <= current_end:
            current_end = max(current_end, end)
        else:
            total += current_end - current_start
            current_start, current_end = start, end
    total += current_end - current_start
    return round(total / 12, 1)


# --- Education -----------------------------------------------------------------------------


def _parse_education(lines: Sequence[str], today: date) -> list[EducationEntry]:
    """Entries from institution, degree and date lines in any order and on any number of lines.

    A field that the current entry already has starts the next entry.
    """
    entries: list[EducationEntry] = []

    def current_without(attribute: str) -> EducationEntry:
        if not entries or getattr(entries[-1], attribute) is not None:
            entries.append(EducationEntry())
        return entries[-1]

    for line in lines:
        if _is_bullet(line):
            continue  # grades, theses and coursework are details, not entries
        text = line
        date_range = _find_date_range(text, today)
        single = None if date_range else _find_single_date(text, today)
        span = date_range.span if date_range else single[1] if single else None
        if span:
            text = f"{text[: span[0]]} {text[span[1] :]}"
        for piece, _ in _split_header_text(text):
            if _INSTITUTION.search(piece):
                current_without("institution").institution = piece
            elif _DEGREE.search(piece):
                current_without("degree").degree = piece
        if date_range:
            entry = (
                current_without("end") if entries and entries[-1].start is None else current_without("start")
            )
            entry.start = _format_date(date_range.start)
            entry.end = _format_date(date_range.end) if date_range.end else None
        elif single:
            entry = current_without("end")
            entry.end = _format_date(single[0])
    return [entry for entry in entries if entry.institution or entry.degree]
