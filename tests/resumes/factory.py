"""Generate real resume files (fpdf2 PDFs, python-docx DOCX) and hostile look-alikes for tests.

Each generated resume comes from a `ResumeSpec` holding the facts that were written into it,
so tests can compare the structured profile with exactly what was put in.
"""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import docx
from docx.shared import Pt
from fpdf import FPDF

# "Present" in the generated resumes means this day.
TODAY = date(2024, 6, 15)


@dataclass(frozen=True)
class Job:
    title: str
    company: str
    dates: str  # as written in the resume
    start: str  # as the profile should report it
    end: str | None
    highlights: tuple[str, ...]


@dataclass(frozen=True)
class School:
    institution: str
    degree: str
    dates: str
    start: str | None
    end: str | None


@dataclass(frozen=True)
class ResumeSpec:
    name: str
    headline: str | None
    email: str | None
    phone: str | None
    location: str | None
    summary: str | None
    skills_written: tuple[str, ...]  # as listed in the skills section
    skills_expected: tuple[str, ...]  # canonical names the listed ones map to
    jobs: tuple[Job, ...]
    schools: tuple[School, ...]
    years_experience: float | None  # with "today" pinned to TODAY
    section_order: tuple[str, ...] = ("summary", "experience", "education", "skills")
    headings: Mapping[str, str] = field(
        default_factory=lambda: {
            "summary": "Summary",
            "experience": "Experience",
            "education": "Education",
            "skills": "Skills",
        }
    )

    def contact_pieces(self) -> list[str]:
        return [piece for piece in (self.email, self.phone, self.location) if piece]


# Three date formats across the jobs: month names with "Present", bare years, numeric months.
BACKEND_ENGINEER = ResumeSpec(
    name="Marta Kowalczyk",
    headline="Senior Backend Engineer",
    email="marta.kowalczyk@example.org",
    phone="+48 601 234 567",
    location="Gdansk, Poland",
    summary=(
        "Backend engineer who designs payment and ledger services, cares about observability "
        "and enjoys mentoring new team members."
    ),
    skills_written=("Python", "Golang", "Postgres", "k8s", "Kafka", "Docker", "Terraform"),
    skills_expected=("python", "go", "postgresql", "kubernetes", "kafka", "docker", "terraform"),
    jobs=(
        Job(
            title="Senior Backend Engineer",
            company="Northwind Payments",
            dates="Jan 2020 - Present",
            start="2020-01",
            end=None,
            highlights=(
                "Split the settlement monolith into four services",
                "Cut p99 checkout latency from 900 ms to 180 ms",
            ),
        ),
        Job(
            title="Software Engineer",
            company="Baltic Freight Labs",
            dates="2016-2019",
            start="2016",
            end="2019",
            highlights=("Built the route pricing API used by 40 partners",),
        ),
        Job(
            title="Junior Developer",
            company="Amber Retail Group",
            dates="03/2014 - 06/2016",
            start="2014-03",
            end="2016-06",
            highlights=("Maintained the order export jobs",),
        ),
    ),
    schools=(
        School(
            institution="Gdansk University of Technology",
            degree="MSc Computer Science",
            dates="2012 - 2014",
            start="2012",
            end="2014",
        ),
    ),
    # 03/2014 - 06/2016 (the end month counted in full) touches 2016-2019 (bare years read as
    # mid-year), so together they cover 2014-03 .. 2019-07, 64 months; Jan 2020 - Present
    # adds 53.5 months up to 2024-06-15: 117.5 months, 9.8 years.
    years_experience=9.8,
)

PRODUCT_DESIGNER = ResumeSpec(
    name="Tomás Ferreira",
    headline="Product Designer",
    email="tomas@ferreira.design",
    phone=None,
    location="Porto, Portugal",
    summary=None,
    skills_written=("Figma", "UX research", "HTML", "CSS", "JavaScript", "Storybook"),
    # "UX research" names UX design through the "ux" alias.
    skills_expected=("figma", "ux design", "html", "css", "javascript", "storybook"),
    jobs=(
        Job(
            title="Lead Designer",
            company="Cobalt Studio Ltd",
            dates="Sep 2021 - Present",
            start="2021-09",
            end=None,
            highlights=("Redesigned the onboarding flow and halved drop-off",),
        ),
        Job(
            title="UX Designer",
            company="Atlantic Ventures",
            dates="05/2018 - 08/2021",
            start="2018-05",
            end="2021-08",
            highlights=("Ran weekly usability sessions with customers",),
        ),
    ),
    schools=(),
    # 05/2018 - 08/2021 is 40 months; Sep 2021 - Present adds 33.5 months: 6.1 years.
    years_experience=6.1,
    section_order=("skills", "experience", "summary", "education"),
    headings={
        "summary": "Profile",
        "experience": "WORK HISTORY",
        "education": "Education",
        "skills": "Technical Skills",
    },
)

# Only a name, an email, jobs and skills: everything else must come back empty.
SPARSE = ResumeSpec(
    name="Ana Lima",
    headline=None,
    email="ana.lima@example.com",
    phone=None,
    location=None,
    summary=None,
    skills_written=("Java", "Spring Boot", "MySQL"),
    skills_expected=("java", "spring boot", "mysql"),
    jobs=(
        Job(
            title="Java Developer",
            company="Verde Software Inc",
            dates="2019 - 2023",
            start="2019",
            end="2023",
            highlights=("Kept the billing batch running every night",),
        ),
    ),
    schools=(),
    years_experience=4.0,  # mid-2019 .. mid-2023
    section_order=("experience", "skills"),
)


# --- PDF ---------------------------------------------------------------------------------------


def resume_pdf(spec: ResumeSpec, *, layout: str = "single") -> bytes:
    """A one-column PDF. layout "single": "Title, Company" with dates on the right of the same
    line. layout "stacked": "Title at Company" with the dates on the line below."""
    pdf = FPDF()
    pdf.set_margins(18, 16)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 18)
    _pdf_line(pdf, spec.name)
    pdf.set_font("helvetica", size=11)
    if spec.headline:
        _pdf_line(pdf, spec.headline)
    if spec.contact_pieces():
        _pdf_line(pdf, " | ".join(spec.contact_pieces()))
    for section in spec.section_order:
        body = _PDF_SECTIONS[section]
        if not _has_section(spec, section):
            continue
        pdf.ln(3)
        pdf.set_font("helvetica", "B", 13)
        _pdf_line(pdf, spec.headings[section])
        pdf.set_font("helvetica", size=11)
        body(pdf, spec, layout)
    return bytes(pdf.output())


def _pdf_line(pdf: FPDF, text: str) -> None:
    pdf.cell(w=0, h=6, text=text, new_x="LMARGIN", new_y="NEXT")


def _pdf_summary(pdf: FPDF, spec: ResumeSpec, layout: str) -> None:
    assert spec.summary
    pdf.multi_cell(w=0, h=6, text=spec.summary, new_x="LMARGIN", new_y="NEXT")


def _pdf_experience(pdf: FPDF, spec: ResumeSpec, layout: str) -> None:
    for job in spec.jobs:
        if layout == "single":
            pdf.cell(w=120, h=6, text=f"{job.title}, {job.company}")
            pdf.cell(w=0, h=6, text=job.dates, align="R", new_x="LMARGIN", new_y="NEXT")
        else:
            _pdf_line(pdf, f"{job.title} at {job.company}")
            _pdf_line(pdf, job.dates)
        for highlight in job.highlights:
            _pdf_line(pdf, ("- " if layout == "single" else "* ") + highlight)


def _pdf_education(pdf: FPDF, spec: ResumeSpec, layout: str) -> None:
    for school in spec.schools:
        _pdf_line(pdf, school.institution)
        _pdf_line(pdf, f"{school.degree}, {school.dates}")


def _pdf_skills(pdf: FPDF, spec: ResumeSpec, layout: str) -> None:
    _pdf_line(pdf, ", ".join(spec.skills_written))


_PDF_SECTIONS: dict[str, Callable[[FPDF, ResumeSpec, str], None]] = {
    "summary": _pdf_summary,
    "experience": _pdf_experience,
    "education": _pdf_education,
    "skills": _pdf_skills,
}


def _has_section(spec: ResumeSpec, section: str) -> bool:
    return {
        "summary": spec.summary is not None,
        "experience": bool(spec.jobs),
        "education": bool(spec.schools),
        "skills": bool(spec.skills_written),
    }[section]


def pdf_with_pages(pages: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(text=f"Page {number} of a resume that never ends")
    return bytes(pdf.output())


# --- DOCX --------------------------------------------------------------------------------------


def resume_docx(spec: ResumeSpec, *, layout: str = "table_skills") -> bytes:
    """layout "table_skills": company line, then "Title | dates", Word bullet list, skills in a
    two-column table. layout "dates_first": the dates line comes before title and company, and
    skills are a comma-separated paragraph."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(10)
    document.add_paragraph(spec.name, style="Title")
    if spec.headline:
        document.add_paragraph(spec.headline)
    if spec.contact_pieces():
        document.add_paragraph(" \u2022 ".join(spec.contact_pieces()))
    for section in spec.section_order:
        if not _has_section(spec, section):
            continue
        document.add_heading(spec.headings[section], level=1)
        if section == "summary":
            assert spec.summary
            document.add_paragraph(spec.summary)
        elif section == "experience":
            for job in spec.jobs:
                dates = job.dates.replace(" - ", " \u2013 ")
                if layout == "table_skills":
                    document.add_paragraph(job.company)
                    document.add_paragraph(f"{job.title} | {dates}")
                else:
                    document.add_paragraph(dates)
                    document.add_paragraph(job.title)
                    document.add_paragraph(job.company)
                for highlight in job.highlights:
                    document.add_paragraph(highlight, style="List Bullet")
        elif section == "education":
            for school in spec.schools:
                document.add_paragraph(f"{school.degree} \u2013 {school.institution}")
                document.add_paragraph(school.dates.replace(" - ", " \u2013 "))
        elif layout == "table_skills":
            half = (len(spec.skills_written) + 1) // 2
            table = document.add_table(rows=2, cols=2)
            table.cell(0, 0).text = "Languages & platforms"
            table.cell(0, 1).text = ", ".join(spec.skills_written[:half])
            table.cell(1, 0).text = "Tools"
            table.cell(1, 1).text = ", ".join(spec.skills_written[half:])
        else:
            document.add_paragraph(", ".join(spec.skills_written))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rewrite_zip(
    data: bytes, replace: Mapping[str, bytes] | None = None, add: Mapping[str, bytes] | None = None
) -> bytes:
    """Copy a zip package, swapping the content of some entries and appending others."""
    replace = dict(replace or {})
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            target.writestr(entry.filename, replace.pop(entry.filename, None) or source.read(entry))
        for name, content in {**replace, **(add or {})}.items():
            target.writestr(name, content)
    return output.getvalue()


def minimal_docx(text: str = "Plain resume text") -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_with_document_xml(document_xml: bytes) -> bytes:
    return rewrite_zip(minimal_docx(), replace={"word/document.xml": document_xml})


_WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def xxe_docx() -> bytes:
    """document.xml pulls /etc/passwd in through an external entity."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<!DOCTYPE w:document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        f'<w:document xmlns:w="{_WORD_NS}"><w:body><w:p><w:r><w:t>&secret;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    return docx_with_document_xml(xml.encode())


def billion_laughs_docx(*, encoding: str = "utf-8") -> bytes:
    """Nested internal entities (the "billion laughs"), optionally hidden in UTF-16."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    xml = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
        f"<!DOCTYPE w:document [{''.join(levels)}]>\n"
        f'<w:document xmlns:w="{_WORD_NS}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    return docx_with_document_xml(xml.encode(encoding))


def doctype_in_declared_xml_part_docx() -> bytes:
    """The DTD sits in a part without an .xml name that [Content_Types].xml declares as XML."""
    base = minimal_docx()
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        content_types = archive.read("[Content_Types].xml").decode()
    override = '<Override PartName="/word/notes.dat" ContentType="application/xml"/>'
    content_types = content_types.replace("</Types>", override + "</Types>")
    notes = b'<?xml version="1.0"?><!DOCTYPE notes [<!ENTITY x "y">]><notes>&x;</notes>'
    return rewrite_zip(
        base, replace={"[Content_Types].xml": content_types.encode()}, add={"word/notes.dat": notes}
    )


def zip_bomb_docx(expanded_mib: int = 100) -> bytes:
    """A valid DOCX carrying one entry of zeros that inflates far beyond any resume."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(minimal_docx())) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry))
        with target.open("word/media/filler.bin", "w") as handle:
            block = bytes(1024 * 1024)
            for _ in range(expanded_mib):
                handle.write(block)
    return output.getvalue()


def many_entries_docx(entries: int) -> bytes:
    return rewrite_zip(minimal_docx(), add={f"word/media/part{index}.bin": b"x" for index in range(entries)})


# --- Raw PDFs (structures fpdf2 would never write) ---------------------------------------------


def raw_pdf(objects: Mapping[int, bytes], root: int = 1) -> bytes:
    """A PDF from numbered object bodies, with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets.get(number, 0)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref)
    return bytes(out)


def pdf_stream(body: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(body), extra, body)


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_ONE_PAGE_TREE = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
_PAGE = (
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>"
)
_HELLO = pdf_stream(b"BT /F1 12 Tf 72 720 Td (Hello resume) Tj ET")


def simple_raw_pdf() -> bytes:
    return raw_pdf({1: _CATALOG, 2: _ONE_PAGE_TREE, 3: _PAGE, 4: _HELLO, 5: _FONT})


def flate_bomb_pdf(expanded_mib: int = 256) -> bytes:
    """A page whose content stream is a few hundred KiB of deflate expanding to `expanded_mib`."""
    compressor = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    body = b"".join(compressor.compress(block) for _ in range(expanded_mib)) + compressor.flush()
    return raw_pdf(
        {1: _CATALOG, 2: _ONE_PAGE_TREE, 3: _PAGE, 4: pdf_stream(body, b"/Filter /FlateDecode"), 5: _FONT}
    )


def cyclic_page_tree_pdf() -> bytes:
    """The page tree lists itself among its own kids."""
    pages = b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"
    return raw_pdf({1: _CATALOG, 2: pages, 3: _PAGE, 4: _HELLO, 5: _FONT})


def self_referencing_pdf() -> bytes:
    """The catalog's page tree is an indirect reference that resolves back to itself."""
    return raw_pdf({1: _CATALOG, 2: b"6 0 R", 6: b"2 0 R", 3: _PAGE, 4: _HELLO, 5: _FONT})


def heavy_content_pdf(operations: int = 100_000) -> bytes:
    """Tiny on disk, but text extraction walks every one of its drawing operations."""
    body = b"BT /F1 12 Tf 72 720 Td " + b"(word) Tj 1 0 Td " * operations + b"ET"
    stream = pdf_stream(zlib.compress(body), b"/Filter /FlateDecode")
    return raw_pdf({1: _CATALOG, 2: _ONE_PAGE_TREE, 3: _PAGE, 4: stream, 5: _FONT})


# --- Not resumes at all -------------------------------------------------------------------------


def png_bytes() -> bytes:
    """A 1x1 PNG."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return len(payload).to_bytes(4, "big") + kind + payload + crc.to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def random_bytes(size: int = 4096, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def xlsx_like_zip() -> bytes:
    """A zip that is an Office package, but not a Word one."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return output.getvalue()
