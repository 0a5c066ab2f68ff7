"""Decide what an uploaded file is from its bytes, never from its name or declared type.

Only two formats are accepted. A PDF announces itself in its first bytes. A DOCX is a zip
archive, so the zip signature alone is not enough (every .xlsx, .jar and .apk has it): the
archive must also hold the two parts every WordprocessingML package has. Reading the archive's
directory is bounded: the entry count is taken from the end-of-central-directory record before
the directory itself is parsed, so a zip with millions of entries costs nothing to refuse.
"""

from __future__ import annotations

import io
import os
import re
import struct
import unicodedata
import zipfile
from pathlib import Path
from typing import IO, Literal

ResumeKind = Literal["pdf", "docx"]

CONTENT_TYPES: dict[ResumeKind, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
EXTENSIONS: dict[ResumeKind, str] = {"pdf": ".pdf", "docx": ".docx"}

# How many leading bytes `detect_resume_type` needs in `head` to recognise a PDF.
SNIFF_HEAD_BYTES = 16

_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
# Some PDF writers emit a stray newline or space before the header; more than that is not a PDF.
_PDF_MAX_LEADING_WHITESPACE = 4
_WHITESPACE = b" \t\r\n\x0c\x00"

# A real DOCX has a few dozen entries; the extraction step applies a much tighter cap. This one
# only stops the directory parse itself from becoming the attack.
SNIFF_MAX_ZIP_ENTRIES = 10_000
_EOCD_SIGNATURE = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP_MAX_COMMENT = 0xFFFF

_DOCX_REQUIRED_PARTS = ("[Content_Types].xml", "word/document.xml")

FALLBACK_FILENAME = "resume"
MAX_FILENAME_LENGTH = 120
_UNSAFE_FILENAME_CHARS = re.compile(r'[<>:"|?*;\\/]')

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]


class UnsupportedFileType(ValueError):
    """The content is neither a PDF nor a DOCX."""

    code = "unsupported_file_type"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def detect_resume_type(head: bytes, source: Source | None = None) -> ResumeKind:
    """Return "pdf" or "docx" for the file whose first bytes are `head`.

    `source` is the whole file (bytes, a path, or a seekable binary file) and is needed only to
    confirm a DOCX, whose table of contents sits at the end of the archive. When it is omitted,
    `head` is taken to be the whole file.
    """
    if not head:
        raise UnsupportedFileType("The file is empty.")
    stripped = head.lstrip(_WHITESPACE)
    if len(head) - len(stripped) <= _PDF_MAX_LEADING_WHITESPACE and stripped.startswith(_PDF_MAGIC):
        return "pdf"
    if head.startswith(_ZIP_MAGIC):
        _require_docx_parts(head if source is None else source)
        return "docx"
    raise UnsupportedFileType("Only PDF and DOCX files are accepted; this file is neither.")


def _require_docx_parts(source: Source) -> None:
    if isinstance(source, bytes | bytearray | memoryview):
        stream: IO[bytes] = io.BytesIO(source)
        _check_docx_archive(stream)
    elif isinstance(source, str | os.PathLike):
        with Path(source).open("rb") as stream:
            _check_docx_archive(stream)
    else:
        position = source.tell()
        try:
            _check_docx_archive(source)
        finally:
            source.seek(position)


def _check_docx_archive(stream: IO[bytes]) -> None:
    entries = _declared_entry_count(stream)
    if entries is None:
        raise UnsupportedFileType("The file looks like a zip archive but its directory is unreadable.")
    if entries > SNIFF_MAX_ZIP_ENTRIES:
        raise UnsupportedFileType(f"The archive has {entries} entries; a Word document has a few dozen.")
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise UnsupportedFileType(f"The file looks like a zip archive but is damaged ({exc}).") from None
    missing = [part for part in _DOCX_REQUIRED_PARTS if part not in names]
    if missing:
        raise UnsupportedFileType(
            "The file is a zip archive but not a Word document (missing " + ", ".join(missing) + ")."
        )


def _declared_entry_count(stream: IO[bytes]) -> int | None:
    """Total entries from the end-of-central-directory record, or None if there is none."""
    end = stream.seek(0, io.SEEK_END)
    tail_size = min(end, _EOCD_SIZE + _ZIP_MAX_COMMENT)
    stream.seek(end - tail_size)
    tail = stream.read(tail_size)
    index = tail.rfind(_EOCD_SIGNATURE)
    if index < 0 or len(tail) - index < _EOCD_SIZE:
        return None
    (total_entries,) = struct.unpack("<H", tail[index + 10 : index + 12])
    # 0xFFFF means "see the ZIP64 record": no 5 MiB Word document needs ZIP64, so treat the
    # marker as the huge count it stands for.
    return int(total_entries)


def sanitize_filename(name: str | None) -> str:
    """A display-safe base name for an uploaded file (never used as a storage path)."""
    if not name:
        return FALLBACK_FILENAME
    name = unicodedata.normalize("NFC", name)
    # Browsers on Windows send full paths; keep only the last component whichever separator.
    name = re.split(r"[\\/]", name)[-1]
    # Control and format characters (including bidi overrides that disguise "exe.pdf") go.
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp"))
    name = _UNSAFE_FILENAME_CHARS.sub("_", name)
    while ".." in name:
        name = name.replace("..", ".")
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10 and stem:
            name = stem[: MAX_FILENAME_LENGTH - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_FILENAME_LENGTH].rstrip(" .")
    return name or FALLBACK_FILENAME
