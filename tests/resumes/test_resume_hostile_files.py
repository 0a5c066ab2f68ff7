"""Hostile and broken files end in the right ExtractionError, quickly, and never touch the
test process: parsing happens in a child process with its own memory and CPU limits."""

from __future__ import annotations

import pickle
import resource
import time
from collections.abc import Callable

import pytest
from factory import (
    BACKEND_ENGINEER,
    billion_laughs_docx,
    cyclic_page_tree_pdf,
    doctype_in_declared_xml_part_docx,
    docx_with_document_xml,
    flate_bomb_pdf,
    heavy_content_pdf,
    many_entries_docx,
    minimal_docx,
    pdf_with_pages,
    png_bytes,
    random_bytes,
    resume_docx,
    resume_pdf,
    self_referencing_pdf,
    simple_raw_pdf,
    xlsx_like_zip,
    xxe_docx,
    zip_bomb_docx,
)
from fpdf import FPDF

from server.resumes.extraction import (
    ExtractionError,
    ExtractionLimits,
    extract_text,
    extract_text_async,
)

MiB = 1024 * 1024
# Far below the default 30 s wall-clock limit: a hostile file must fail fast, not at the deadline.
FAST_FAILURE_SECONDS = 10


def _encrypted_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(text="Confidential resume")
    return bytes(pdf.output())


def _blank_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 40)
    return bytes(pdf.output())


def _truncated_pdf() -> bytes:
    data = resume_pdf(BACKEND_ENGINEER)
    return data[: len(data) // 2]


def _utf16_billion_laughs() -> bytes:
    return billion_laughs_docx(encoding="utf-16")


def _docx_without_text() -> bytes:
    return minimal_docx(text="   ")


def _docx_with_broken_xml() -> bytes:
    return docx_with_document_xml(b"<w:document><w:body><w:p>unclosed")


HOSTILE: list[tuple[str, Callable[[], bytes], str]] = [
    ("png renamed to pdf", png_bytes, "unsupported_file_type"),
    ("random bytes", random_bytes, "unsupported_file_type"),
    ("empty file", lambda: b"", "unsupported_file_type"),
    ("spreadsheet zip", xlsx_like_zip, "unsupported_file_type"),
    ("truncated pdf", _truncated_pdf, "corrupt_pdf"),
    ("flate decompression bomb", flate_bomb_pdf, "decompression_bomb"),
    ("cyclic page tree", cyclic_page_tree_pdf, "corrupt_pdf"),
    ("self-referencing object", self_referencing_pdf, "corrupt_pdf"),
    ("too many pages", lambda: pdf_with_pages(25), "too_many_pages"),
    ("password-protected pdf", _encrypted_pdf, "encrypted_pdf"),
    ("pdf without text", _blank_pdf, "empty_document"),
    ("docx zip bomb by total size", zip_bomb_docx, "zip_bomb"),
    ("docx zip bomb by ratio", lambda: zip_bomb_docx(expanded_mib=8), "zip_bomb"),
    ("docx with too many entries", lambda: many_entries_docx(1500), "zip_bomb"),
    ("docx with external entity", xxe_docx, "xml_entities"),
    ("docx with billion laughs", billion_laughs_docx, "xml_entities"),
    ("docx with utf-16 billion laughs", _utf16_billion_laughs, "xml_entities"),
    ("docx with dtd in a declared xml part", doctype_in_declared_xml_part_docx, "xml_entities"),
    ("docx with broken xml", _docx_with_broken_xml, "corrupt_docx"),
    ("docx without text", _docx_without_text, "empty_document"),
]


@pytest.mark.parametrize(("label", "build", "code"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_file_fails_with_its_code(label: str, build: Callable[[], bytes], code: str) -> None:
    data = build()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_text(data)
    elapsed = time.monotonic() - started
    assert caught.value.code == code, caught.value.message
    assert caught.value.permanent
    assert caught.value.message
    assert elapsed < FAST_FAILURE_SECONDS
    # The bombs expand in the child only: this process's peak memory barely moves (ru_maxrss
    # is in KiB on Linux).
    peak_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert peak_growth_kib < 64 * 1024


def test_limits_apply_to_the_child_only() -> None:
    watched = (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_FSIZE, resource.RLIMIT_CORE)
    before = [resource.getrlimit(limit) for limit in watched]
    with pytest.raises(ExtractionError):
        extract_text(flate_bomb_pdf(expanded_mib=32), limits=ExtractionLimits(max_pdf_stream_bytes=8 * MiB))
    assert [resource.getrlimit(limit) for limit in watched] == before


def test_cpu_limit_stops_a_parser_that_spins() -> None:
    data = heavy_content_pdf()
    # With the default limits this file parses, slowly (several seconds of CPU).
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_text(data, limits=ExtractionLimits(cpu_seconds=1))
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < FAST_FAILURE_SECONDS


def test_wall_clock_deadline_kills_the_child() -> None:
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        # Starting an interpreter and importing pypdf alone takes longer than this.
        extract_text(simple_raw_pdf(), limits=ExtractionLimits(wall_seconds=0.05))
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 2


async def test_async_wall_clock_deadline_kills_the_child() -> None:
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        await extract_text_async(simple_raw_pdf(), limits=ExtractionLimits(wall_seconds=0.05))
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 2


def test_memory_limit_stops_an_expansion_the_parser_would_allow() -> None:
    # Lift pypdf's own output cap: the address-space limit of the child must catch the bomb.
    limits = ExtractionLimits(max_pdf_stream_bytes=4096 * MiB, memory_bytes=192 * MiB)
    with pytest.raises(ExtractionError) as caught:
        extract_text(flate_bomb_pdf(), limits=limits)
    assert caught.value.code == "memory_limit"


def test_file_above_the_size_limit_is_refused_before_parsing() -> None:
    data = resume_pdf(BACKEND_ENGINEER)
    with pytest.raises(ExtractionError) as caught:
        extract_text(data, limits=ExtractionLimits(max_input_bytes=len(data) - 1))
    assert caught.value.code == "too_large"


def test_declared_kind_must_match_the_content() -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_text(resume_docx(BACKEND_ENGINEER), kind="pdf")
    assert caught.value.code == "unsupported_file_type"
    assert "DOCX" in caught.value.message


def test_text_beyond_the_cap_is_cut_and_flagged() -> None:
    extracted = extract_text(resume_pdf(BACKEND_ENGINEER), limits=ExtractionLimits(max_text_chars=40))
    assert extracted.truncated
    assert len(extracted.text) == 40
    assert extracted.text.startswith("Marta Kowalczyk")
    assert sum(len(page) for page in extracted.pages) <= 40


def test_the_same_limits_let_real_resumes_through() -> None:
    # The hostile-file defences must not reject what Word and PDF writers really produce.
    assert "Northwind Payments" in extract_text(resume_pdf(BACKEND_ENGINEER)).text
    assert "Northwind Payments" in extract_text(resume_docx(BACKEND_ENGINEER)).text
    assert extract_text(pdf_with_pages(20)).pages[19] == "Page 20 of a resume that never ends"


def test_extraction_errors_survive_pickling() -> None:
    # Dramatiq result backends and process pools move exceptions between processes.
    error = ExtractionError("timeout", "took too long", permanent=False)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, just produced
    assert (copy.code, copy.message, copy.permanent) == ("timeout", "took too long", False)
    assert str(copy) == str(error)
