"""Resumes to upload: PDFs (fpdf2) and DOCX files (python-docx) with varied, plausible content,
deterministic for a given number so that runs upload the same documents."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

FIRST_NAMES = ("Amara", "Jonas", "Priya", "Mateo", "Hana", "Tomasz", "Leila", "Oskar", "Ines", "Kwame")
LAST_NAMES = (
    "Okafor",
    "Lindqvist",
    "Raman",
    "Ferreira",
    "Sato",
    "Nowak",
    "Haddad",
    "Berg",
    "Duarte",
    "Mensah",
)
TITLES = (
    "Backend Engineer",
    "Data Engineer",
    "Site Reliability Engineer",
    "Frontend Developer",
    "ML Engineer",
)
COMPANIES = ("Northwind Labs", "Bluefin Analytics", "Harbor Systems", "Quillstone", "Arcadia Health")
SCHOOLS = ("University of Leeds", "TU Delft", "University of Toronto", "KTH Royal Institute", "IIT Madras")
DEGREES = ("BSc Computer Science", "MSc Software Engineering", "BEng Electrical Engineering")
CITIES = ("Lisbon, Portugal", "Berlin, Germany", "Toronto, Canada", "Nairobi, Kenya", "Osaka, Japan")
SKILLS = (
    "Python",
    "PostgreSQL",
    "Redis",
    "Kubernetes",
    "Terraform",
    "TypeScript",
    "React",
    "Kafka",
    "AWS",
    "Docker",
    "Go",
    "Spark",
    "Airflow",
    "gRPC",
    "Linux",
)
HIGHLIGHTS = (
    "Cut p99 API latency from 900 ms to 140 ms by adding a read-through cache and query indexes.",
    "Led the migration of 40 services to Kubernetes with zero customer-facing downtime.",
    "Built a streaming pipeline that processes 2 million events per hour with exactly-once writes.",
    "Introduced contract tests that halved the number of production incidents in a year.",
    "Mentored four junior engineers and ran the team's weekly design review.",
    "Reduced cloud spend by 30 % by right-sizing clusters and scheduling batch jobs off-peak.",
    "Designed the permissions model used by every product team, covering 120 roles.",
    "Shipped an on-call runbook and alerting overhaul that brought MTTR from 3 hours to 25 minutes.",
)


@dataclass(frozen=True)
class Document:
    filename: str
    content_type: str
    data: bytes


def _lines(number: int) -> list[tuple[str, str]]:
    """(kind, text) lines of one resume: kind is "name", "heading" or "text"."""
    rng = random.Random(number)
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    title = rng.choice(TITLES)
    lines: list[tuple[str, str]] = [
        ("name", name),
        ("text", title),
        ("text", f"{name.split()[0].lower()}.{number}@mail.example.org | +44 20 7946 {number % 10000:04d}"),
        ("text", rng.choice(CITIES)),
        ("heading", "Summary"),
        (
            "text",
            f"{title} with {3 + number % 9} years of experience building reliable services. "
            "Enjoys measuring before optimising and writing things down for the next person.",
        ),
        ("heading", "Experience"),
    ]
    year = 2024
    for job in range(3):
        start = year - rng.randint(1, 3)
        end = "Present" if job == 0 else str(year)
        lines.append(("text", f"{rng.choice(TITLES)}, {rng.choice(COMPANIES)}  {start} - {end}"))
        lines += [("text", f"- {h}") for h in rng.sample(HIGHLIGHTS, 3)]
        year = start
    lines += [
        ("heading", "Education"),
        ("text", f"{rng.choice(DEGREES)}, {rng.choice(SCHOOLS)}  {year - 4} - {year}"),
        ("heading", "Skills"),
        ("text", ", ".join(rng.sample(SKILLS, 8))),
    ]
    return lines


def pdf_resume(number: int) -> Document:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    for kind, text in _lines(number):
        if kind == "name":
            pdf.set_font("Helvetica", "B", 18)
        elif kind == "heading":
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 13)
        else:
            pdf.set_font("Helvetica", "", 10.5)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return Document(f"resume-{number}.pdf", PDF_TYPE, bytes(pdf.output()))


def docx_resume(number: int) -> Document:
    import docx

    document = docx.Document()
    for kind, text in _lines(number):
        if kind == "name":
            document.add_heading(text, level=0)
        elif kind == "heading":
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return Document(f"resume-{number}.docx", DOCX_TYPE, buffer.getvalue())


def resume(number: int) -> Document:
    """Even numbers are PDFs, odd ones DOCX files."""
    return pdf_resume(number) if number % 2 == 0 else docx_resume(number)
