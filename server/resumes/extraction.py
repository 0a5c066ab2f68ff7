"""Text extraction from uploaded resumes, isolated in a resource-limited child process.

Parsers for PDF and DOCX are large C-and-Python code bases fed with hostile input: a crafted
file can make them allocate gigabytes, recurse without end or spin for minutes, and no Python
timeout can interrupt C code. So every file is parsed in a child process of its own that caps
its own address space and CPU time with `setrlimit` before touching the file, while the parent
enforces a wall-clock deadline and kills the child when it expires. Whatever the file does, the
caller gets an `ExtractedText` or an `ExtractionError` with a stable code, in bounded time.

The children are forked from a multiprocessing forkserver that has the parsers imported
already: a fresh interpreter per file spent half a second starting up and importing pypdf,
which capped a worker at about two resumes a second. The forkserver is started once, from a
minimal environment, so a parser exploit finds no credentials in the child's environment. The
child receives a msgpack request and answers with a msgpack result over a pipe.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Final, NoReturn
from xml.parsers import expat

import msgspec

from server.core.logging import get_logger
from server.resumes.sniff import SNIFF_HEAD_BYTES, ResumeKind, UnsupportedFileType, detect_resume_type

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph

log = get_logger(__name__)

MiB: Final = 1024 * 1024

# Stable error codes (the API and the task records expose them).
UNSUPPORTED_FILE_TYPE: Final = "unsupported_file_type"
TOO_LARGE: Final = "too_large"
TOO_MANY_PAGES: Final = "too_many_pages"
CORRUPT_PDF: Final = "corrupt_pdf"
ENCRYPTED_PDF: Final = "encrypted_pdf"
DECOMPRESSION_BOMB: Final = "decompression_bomb"
TOO_COMPLEX: Final = "too_complex"
CORRUPT_DOCX: Final = "corrupt_docx"
ENCRYPTED_DOCX: Final = "encrypted_docx"
ZIP_BOMB: Final = "zip_bomb"
XML_ENTITIES: Final = "xml_entities"
EMPTY_DOCUMENT: Final = "empty_document"
TIMEOUT: Final = "timeout"
MEMORY_LIMIT: Final = "memory_limit"
PARSER_CRASHED: Final = "parser_crashed"
EXTRACTOR_UNAVAILABLE: Final = "extractor_unavailable"

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Imported once in the forkserver, shared copy-on-write by every child.
_PRELOAD = ("server.resumes.extraction", "pypdf", "docx")
_MAX_REPLY_BYTES = 16 * MiB
_READ_CHUNK = 64 * 1024
# Entries smaller than this may compress extremely well (runs of identical XML) without being
# a threat; the ratio cap applies above it.
_RATIO_CHECK_MIN_BYTES = 1 * MiB


class ExtractionError(Exception):
    """Extraction failed. `permanent` errors will fail the same way on every retry."""

    def __init__(self, code: str, message: str, *, permanent: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.permanent = permanent

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their args; keep the keyword so a result backend or a
        # process pool hands back an equal error.
        return (_rebuild_extraction_error, (self.code, self.message, self.permanent))


def _rebuild_extraction_error(code: str, message: str, permanent: bool) -> ExtractionError:
    return ExtractionError(code, message, permanent=permanent)


class ExtractionLimits(msgspec.Struct, frozen=True, kw_only=True):
    max_input_bytes: int = 5 * MiB
    max_pages: int = 20
    memory_bytes: int = 512 * MiB
    cpu_seconds: int = 10
    wall_seconds: float = 30.0
    max_zip_entries: int = 1000
    max_uncompressed_bytes: int = 64 * MiB
    max_compression_ratio: float = 100.0
    max_pdf_stream_bytes: int = 32 * MiB
    max_text_chars: int = 200_000


DEFAULT_LIMITS = ExtractionLimits()


class ExtractedText(msgspec.Struct, frozen=True, kw_only=True):
    kind: ResumeKind
    text: str
    pages: list[str] = msgspec.field(default_factory=list)  # PDF: text per page; DOCX: empty
    truncated: bool = False  # True when the text was cut at `max_text_chars`


class _Request(msgspec.Struct, frozen=True):
    kind: ResumeKind
    data: bytes
    limits: ExtractionLimits


class _Success(msgspec.Struct, frozen=True, tag="success"):
    text: str
    pages: list[str]
    truncated: bool


class _Failure(msgspec.Struct, frozen=True, tag="failure"):
    code: str
    message: str


_response_decoder = msgspec.msgpack.Decoder(_Success | _Failure)


# ---------------------------------------------------------------------------------------------
# Parent side


def extract_text(
    data: bytes, kind: ResumeKind | None = None, *, limits: ExtractionLimits = DEFAULT_LIMITS
) -> ExtractedText:
    """Extract the text of a PDF or DOCX resume in a sandboxed child process (blocking)."""
    request = _prepare(data, kind, limits)
    context = _forkserver_context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(msgspec.msgpack.encode(request), sender), daemon=True)
    try:
        child.start()
    except OSError as exc:
        receiver.close()
        sender.close()
        raise ExtractionError(
            EXTRACTOR_UNAVAILABLE, f"could not start the extraction process: {exc}", permanent=False
        ) from exc
    sender.close()  # the child holds the only writing end: its exit means end of file here
    try:
        if not receiver.poll(limits.wall_seconds):
            raise _timeout(limits)
        try:
            reply = receiver.recv_bytes(_MAX_REPLY_BYTES)
        except (EOFError, OSError):
            reply = b""  # the child died without answering (a signal, a hard limit)
        child.join(limits.wall_seconds)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
            child.join()
    exitcode = child.exitcode if child.exitcode is not None else -int(signal.SIGKILL)
    return _interpret(request.kind, exitcode, reply, limits)


async def extract_text_async(
    data: bytes, kind: ResumeKind | None = None, *, limits: ExtractionLimits = DEFAULT_LIMITS
) -> ExtractedText:
    """The same as `extract_text`, without blocking the event loop."""
    return await asyncio.to_thread(extract_text, data, kind, limits=limits)


_forkserver_lock = threading.Lock()
_forkserver_started = False


def _forkserver_context() -> Any:
    """The forkserver context, started on first use with the parsers preloaded and a minimal
    environment (children forked from it inherit that environment, not ours)."""
    global _forkserver_started
    context = multiprocessing.get_context("forkserver")
    with _forkserver_lock:
        if not _forkserver_started:
            context.set_forkserver_preload(list(_PRELOAD))
            saved = dict(os.environ)
            os.environ.clear()
            os.environ.update(_child_environment())
            try:
                multiprocessing.forkserver.ensure_running()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            _forkserver_started = True
    return context


def start_extraction_server() -> None:
    """Start the forkserver now (worker start-up, before threads run) rather than on first use."""
    _forkserver_context()


def _prepare(data: bytes, kind: ResumeKind | None, limits: ExtractionLimits) -> _Request:
    if len(data) > limits.max_input_bytes:
        raise ExtractionError(
            TOO_LARGE, f"the file is {len(data)} bytes; the limit is {limits.max_input_bytes} bytes"
        )
    try:
        detected = detect_resume_type(data[:SNIFF_HEAD_BYTES], data)
    except UnsupportedFileType as exc:
        raise ExtractionError(UNSUPPORTED_FILE_TYPE, exc.message) from None
    if kind is not None and kind != detected:
        raise ExtractionError(
            UNSUPPORTED_FILE_TYPE, f"expected a {kind.upper()} file but this is a {detected.upper()}"
        )
    return _Request(kind=detected, data=bytes(data), limits=limits)


def _child_environment() -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(_PROJECT_ROOT),
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LC_ALL": "C.UTF-8",
    }
    # Coverage measurement of the child, when the test run asks for it.
    env.update({key: value for key, value in os.environ.items() if key.startswith("COVERAGE_")})
    return env


def _timeout(limits: ExtractionLimits) -> ExtractionError:
    return ExtractionError(TIMEOUT, f"reading the file took longer than {limits.wall_seconds:g} seconds")


def _interpret(kind: ResumeKind, returncode: int, reply: bytes, limits: ExtractionLimits) -> ExtractedText:
    response: _Success | _Failure | None = None
    if reply:
        try:
            response = _response_decoder.decode(reply)
        except msgspec.DecodeError:
            response = None
    if isinstance(response, _Success):
        return ExtractedText(
            kind=kind, text=response.text, pages=response.pages, truncated=response.truncated
        )
    if isinstance(response, _Failure):
        raise ExtractionError(response.code, response.message)

    if returncode < 0:
        signal_number = -returncode
        if signal_number in (signal.SIGXCPU, signal.SIGKILL):
            # SIGXCPU at the soft CPU limit, SIGKILL at the hard one (C code ignoring SIGXCPU).
            raise ExtractionError(TIMEOUT, f"reading the file used more than {limits.cpu_seconds} s of CPU")
        log.warning("resume_parser_crashed", signal=signal_number, kind=kind)
        raise ExtractionError(PARSER_CRASHED, f"the {kind.upper()} parser crashed on this file")
    # The child reports every failure it can catch; a silent exit means the child could not run
    # at all (broken installation), which is not the file's fault.
    log.error("resume_extractor_failed", returncode=returncode, kind=kind)
    raise ExtractionError(
        EXTRACTOR_UNAVAILABLE, f"the extraction process exited with status {returncode}", permanent=False
    )


# ---------------------------------------------------------------------------------------------
# Child side


class _Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _reject(code: str, message: str) -> NoReturn:
    raise _Rejected(code, message)


def _child_main(request_bytes: bytes, reply: Any) -> None:
    """Runs in the forked child: limit ourselves, parse, answer over the pipe, exit."""
    request = msgspec.msgpack.decode(request_bytes, type=_Request)
    _apply_resource_limits(request.limits)
    # Anything a parser prints must not reach the worker's output as if it were ours.
    sys.stdout = sys.stderr
    _silence_parser_warnings()
    response: _Success | _Failure
    try:
        parse = _parse_pdf if request.kind == "pdf" else _parse_docx
        response = _finish(parse(request.data, request.limits), request.limits)
    except _Rejected as exc:
        response = _Failure(code=exc.code, message=exc.message)
    except MemoryError:
        response = _Failure(
            code=MEMORY_LIMIT,
            message=f"reading the file needed more than {request.limits.memory_bytes // MiB} MiB of memory",
        )
    except RecursionError:
        response = _Failure(code=TOO_COMPLEX, message="the file's structure nests too deeply to read")
    except Exception as exc:  # a parser bug on hostile input is the file's problem, not ours
        response = _Failure(
            code=PARSER_CRASHED, message=f"the {request.kind.upper()} parser failed: {type(exc).__name__}"
        )
    try:
        reply.send_bytes(msgspec.msgpack.encode(response))
    except MemoryError:
        pass  # no memory left even to answer: the parent sees a silent exit
    finally:
        reply.close()


def _apply_resource_limits(limits: ExtractionLimits) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # The soft limit sends SIGXCPU; the hard limit one second later is a SIGKILL for C code
    # that does not return to the interpreter.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    # No core dumps of hostile input, and no files written by the parser.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _silence_parser_warnings() -> None:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)


def _finish(pages: list[str], limits: ExtractionLimits) -> _Success:
    cleaned = [_clean_text(page) for page in pages]
    text = "\n\n".join(page for page in cleaned if page)
    if not text.strip():
        _reject(
            EMPTY_DOCUMENT,
            "the file contains no selectable text (scanned images are not supported; "
            "export the resume as a text PDF or DOCX)",
        )
    truncated = len(text) > limits.max_text_chars
    if truncated:
        text = text[: limits.max_text_chars]
        budget = limits.max_text_chars
        kept: list[str] = []
        for page in cleaned:
            if budget <= 0:
                break
            kept.append(page[:budget])
            budget -= len(page) + 2
        cleaned = kept
    return _Success(text=text, pages=cleaned, truncated=truncated)


def _clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    cleaned: list[str] = []
    for line in lines:
        if not line and (not cleaned or not cleaned[-1]):
            continue
        cleaned.append(line)
    return "\n".join(cleaned).strip()


# PDF -----------------------------------------------------------------------------------------


def _parse_pdf(data: bytes, limits: ExtractionLimits) -> list[str]:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

    stream_cap = limits.max_pdf_stream_bytes
    try:
        with apply_configuration(
            maximum_declared_stream_length=stream_cap,
            zlib_maximum_output_length=stream_cap,
            lzw_maximum_output_length=stream_cap,
            run_length_maximum_output_length=stream_cap,
            array_based_stream_maximum_output_length=stream_cap,
            stream_decoding_work_maximum_length=4 * stream_cap,
            disable_legacy_handling=True,
        ):
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                _reject(ENCRYPTED_PDF, "the PDF is password-protected")
            page_count = len(reader.pages)
            if page_count > limits.max_pages:
                _reject(
                    TOO_MANY_PAGES,
                    f"the PDF has {page_count} pages; a resume may have at most {limits.max_pages}",
                )
            if page_count == 0:
                _reject(CORRUPT_PDF, "the PDF has no pages")
            return [page.extract_text() or "" for page in reader.pages]
    except (_Rejected, MemoryError):
        raise
    except FileNotDecryptedError:
        _reject(ENCRYPTED_PDF, "the PDF is password-protected")
    except LimitReachedError as exc:
        if "decompress" in str(exc).lower():
            _reject(
                DECOMPRESSION_BOMB, "the PDF holds a compressed stream that expands to an unreasonable size"
            )
        _reject(TOO_COMPLEX, f"the PDF exceeds a structural safety limit ({exc})")
    except RecursionError:
        _reject(CORRUPT_PDF, "the PDF's object structure refers back to itself without end")
    except PyPdfError as exc:
        _reject(CORRUPT_PDF, f"the PDF is damaged or incomplete ({exc})")
    except Exception as exc:
        # pypdf signals some malformations with plain built-in exceptions (KeyError, ValueError,
        # TypeError, ...): every one of them means the file cannot be read.
        _reject(CORRUPT_PDF, f"the PDF is damaged or incomplete ({type(exc).__name__})")


# DOCX ----------------------------------------------------------------------------------------


def _parse_docx(data: bytes, limits: ExtractionLimits) -> list[str]:
    _check_docx_package(data, limits)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        lines = list(_docx_lines(document))
    except (_Rejected, MemoryError):
        raise
    except RecursionError:
        _reject(CORRUPT_DOCX, "the document's structure is nested without end")
    except Exception as exc:
        # python-docx raises KeyError, ValueError, lxml errors... for malformed packages.
        _reject(CORRUPT_DOCX, f"the Word document is damaged ({type(exc).__name__})")
    return ["\n".join(lines)]


def _check_docx_package(data: bytes, limits: ExtractionLimits) -> None:
    """Refuse zip bombs and DTD-bearing XML before python-docx (and lxml) see the package."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        _reject(CORRUPT_DOCX, f"the Word document is not a readable zip package ({exc})")
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            _reject(
                ZIP_BOMB,
                f"the package has {len(entries)} entries; at most {limits.max_zip_entries} are allowed",
            )
        declared_total = sum(entry.file_size for entry in entries)
        if declared_total > limits.max_uncompressed_bytes:
            _reject(
                ZIP_BOMB,
                f"the package expands to {declared_total // MiB} MiB; "
                f"at most {limits.max_uncompressed_bytes // MiB} MiB are allowed",
            )
        for entry in entries:
            if entry.flag_bits & 0x1:
                _reject(ENCRYPTED_DOCX, "the Word document is password-protected")
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _RATIO_CHECK_MIN_BYTES and ratio > limits.max_compression_ratio:
                _reject(ZIP_BOMB, f"the entry {entry.filename!r} is compressed {ratio:.0f}:1")
        xml_parts = _xml_part_names(archive, entries)
        budget = limits.max_uncompressed_bytes
        for entry in entries:
            budget = _read_entry(archive, entry, entry.filename in xml_parts, budget)


def _xml_part_names(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> set[str]:
    """Every entry an XML parser will read: by name, or declared as XML in [Content_Types].xml."""
    names = {entry.filename for entry in entries}
    xml_parts = {name for name in names if name.lower().endswith((".xml", ".rels"))}
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}

    def on_element(tag: str, attributes: dict[str, str]) -> None:
        local = tag.rsplit("}", 1)[-1].rsplit(" ", 1)[-1]
        if local == "Default" and "Extension" in attributes:
            defaults[attributes["Extension"].lower()] = attributes.get("ContentType", "")
        elif local == "Override" and "PartName" in attributes:
            overrides[attributes["PartName"].lstrip("/")] = attributes.get("ContentType", "")

    try:
        with archive.open("[Content_Types].xml") as handle:
            _scan_xml(handle, "[Content_Types].xml", on_element)
    except KeyError:
        _reject(CORRUPT_DOCX, "the package has no [Content_Types].xml, so it is not a Word document")
    for name in names:
        content_type = overrides.get(name) or defaults.get(PurePosixPath(name).suffix.lstrip(".").lower(), "")
        if "xml" in content_type.lower():
            xml_parts.add(name)
    return xml_parts


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, is_xml: bool, budget: int) -> int:
    """Read one entry fully (which verifies its CRC), scanning it as XML when it is XML."""
    try:
        with archive.open(entry) as handle:
            if is_xml:
                return budget - _scan_xml(handle, entry.filename, None, budget)
            while chunk := handle.read(_READ_CHUNK):
                budget -= len(chunk)
                if budget < 0:
                    _reject(ZIP_BOMB, "the package expands beyond its declared size")
    except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError, OSError) as exc:
        _reject(CORRUPT_DOCX, f"the entry {entry.filename!r} is damaged ({exc})")
    return budget


def _scan_xml(
    handle: IO[bytes],
    part_name: str,
    on_element: Callable[[str, dict[str, str]], None] | None,
    budget: int | None = None,
) -> int:
    """Parse one XML part with expat, refusing any DTD; returns the bytes read.

    A DOCTYPE is where XXE and "billion laughs" payloads live, and WordprocessingML never needs
    one, so its mere presence rejects the file before any entity could be expanded. Encodings
    expat does not know are refused too, so a DTD cannot hide behind an exotic encoding.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_doctype(*_: object) -> None:
        _reject(XML_ENTITIES, f"the part {part_name!r} declares a DTD or entities, which Word never writes")

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    if on_element is not None:
        parser.StartElementHandler = on_element
    total = 0
    try:
        while chunk := handle.read(_READ_CHUNK):
            total += len(chunk)
            if budget is not None and total > budget:
                _reject(ZIP_BOMB, "the package expands beyond its declared size")
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        _reject(CORRUPT_DOCX, f"the part {part_name!r} is not well-formed XML ({exc})")
    return total


def _docx_lines(document: DocxDocument) -> Iterator[str]:
    # Contact details often live in the page header; it comes first in reading order.
    for section in document.sections[:1]:
        header = section.header
        if not header.is_linked_to_previous:
            yield from _block_lines(header.iter_inner_content())
    yield from _block_lines(document.iter_inner_content())


def _block_lines(blocks: Iterator[Paragraph | Table]) -> Iterator[str]:
    from docx.table import Table

    for block in blocks:
        if isinstance(block, Table):
            yield from _table_lines(block)
        else:
            text = block.text.strip()
            if text:
                yield ("• " + text) if _is_list_paragraph(block) else text


def _table_lines(table: Table) -> Iterator[str]:
    for row in table.rows:
        seen: set[int] = set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            yield from _block_lines(cell.iter_inner_content())


def _is_list_paragraph(paragraph: Paragraph) -> bool:
    """Bullets in Word are numbering properties, not characters; make them visible in the text."""
    properties = paragraph._p.pPr
    if properties is not None and properties.numPr is not None:
        return True
    style = paragraph.style
    return style is not None and str(style.name or "").lower().startswith("list")
