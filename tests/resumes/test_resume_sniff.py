from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from factory import BACKEND_ENGINEER, png_bytes, random_bytes, resume_docx, resume_pdf, xlsx_like_zip

from server.resumes.sniff import (
    CONTENT_TYPES,
    FALLBACK_FILENAME,
    MAX_FILENAME_LENGTH,
    SNIFF_HEAD_BYTES,
    UnsupportedFileType,
    detect_resume_type,
    sanitize_filename,
)


def test_pdf_is_recognised_from_its_first_bytes() -> None:
    data = resume_pdf(BACKEND_ENGINEER)
    assert detect_resume_type(data[:SNIFF_HEAD_BYTES]) == "pdf"
    assert detect_resume_type(b"\r\n%PDF-1.4\n") == "pdf"


def test_pdf_header_after_too_much_padding_is_not_a_pdf() -> None:
    with pytest.raises(UnsupportedFileType):
        detect_resume_type(b" " * 64 + b"%PDF-1.4\n")
    with pytest.raises(UnsupportedFileType):
        detect_resume_type(b"junk%PDF-1.4\n")


def test_docx_is_recognised_from_bytes_path_and_open_file(tmp_path: Path) -> None:
    data = resume_docx(BACKEND_ENGINEER)
    head = data[:SNIFF_HEAD_BYTES]
    assert detect_resume_type(head, data) == "docx"
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    assert detect_resume_type(head, path) == "docx"
    assert detect_resume_type(head, str(path)) == "docx"
    with path.open("rb") as handle:
        handle.seek(5)
        assert detect_resume_type(head, handle) == "docx"
        assert handle.tell() == 5  # the caller's position is left where it was


def test_name_and_declared_type_play_no_part(tmp_path: Path) -> None:
    # A PNG saved as resume.pdf is still a PNG.
    path = tmp_path / "resume.pdf"
    path.write_bytes(png_bytes())
    with pytest.raises(UnsupportedFileType) as caught:
        detect_resume_type(path.read_bytes()[:SNIFF_HEAD_BYTES], path)
    assert caught.value.code == "unsupported_file_type"


@pytest.mark.parametrize(
    "data",
    [b"", png_bytes(), random_bytes(), xlsx_like_zip(), b"PK\x03\x04" + b"\x00" * 40],
    ids=["empty", "png", "random", "spreadsheet", "zip-signature-only"],
)
def test_other_content_is_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedFileType) as caught:
        detect_resume_type(data[:SNIFF_HEAD_BYTES], data)
    assert caught.value.message


def test_zip_with_a_huge_declared_entry_count_is_refused_before_its_directory_is_read() -> None:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    data = bytearray(output.getvalue())
    end_record = data.rfind(b"PK\x05\x06")
    # Claim 60,000 entries in the end-of-central-directory record.
    struct.pack_into("<HH", data, end_record + 8, 60_000, 60_000)
    with pytest.raises(UnsupportedFileType, match="60000 entries"):
        detect_resume_type(bytes(data[:SNIFF_HEAD_BYTES]), bytes(data))


def test_content_types_cover_both_kinds() -> None:
    assert CONTENT_TYPES["pdf"] == "application/pdf"
    assert CONTENT_TYPES["docx"].endswith("wordprocessingml.document")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane Doe - CV.pdf", "Jane Doe - CV.pdf"),
        ("C:\\Users\\jane\\Desktop\\resume.docx", "resume.docx"),
        ("../../etc/passwd", "passwd"),
        ("..", FALLBACK_FILENAME),
        ("resume..pdf", "resume.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),
        ("line\nbreak\r.pdf", "linebreak.pdf"),
        ('quote"semi;colon.pdf', "quote_semi_colon.pdf"),
        ("   .hidden.pdf  ", "hidden.pdf"),
        ("", FALLBACK_FILENAME),
        (None, FALLBACK_FILENAME),
        ("/", FALLBACK_FILENAME),
        ("Lebenslauf Müller.pdf", "Lebenslauf Müller.pdf"),
    ],
)
def test_sanitize_filename(raw: str | None, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_sanitize_filename_caps_length_and_keeps_the_extension() -> None:
    cleaned = sanitize_filename("a" * 500 + ".docx")
    assert len(cleaned) == MAX_FILENAME_LENGTH
    assert cleaned.endswith(".docx")
    assert len(sanitize_filename("b" * 500)) == MAX_FILENAME_LENGTH
