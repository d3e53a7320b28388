"""Uploaded spreadsheets in, a table of strings out; and the files we hand back (IMP-1, IMP-6).

Plain Python, no Django: the import wizard and the import worker both call it. An upload is
hostile until proven otherwise, so every limit is checked before rows are read into memory and
every failure of a third-party parser becomes a `SpreadsheetError`, never a server error.
"""

import codecs
import csv
import io
import multiprocessing
import os
import re
import resource
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import charset_normalizer
import openpyxl
import xlrd
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

MAX_DATA_ROWS = 1000  # IMP-1
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024  # xlsx: sum of declared uncompressed member sizes
MAX_COMPRESSION_RATIO = 100  # per xlsx member (uncompressed / compressed), beyond = bomb
MAX_CELL_CHARS = 10_000
MAX_ZIP_MEMBERS = 1000
MAX_COLUMNS = 200  # far beyond any user import; bounds the width of every row we build

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")

_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURE = b"PK\x03\x04"
_XLSX_PARTS = {"[Content_Types].xml", "xl/workbook.xml"}
_TEXT_SAMPLE_BYTES = 8192
# C0 controls that text files never hold (tab, LF, FF, CR and DOS's end-of-file ^Z they may).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f]")
# However well a small member compresses it cannot hurt; the ratio only matters for big ones,
# and checking it on tiny parts would refuse honest files over a few repetitive bytes.
_RATIO_FLOOR_BYTES = 1024 * 1024
_SNIFF_CHARS = 4096
_EXCEL_MAX_ROWS = 1_048_576
_CSV_DELIMITERS = ",;\t"

MESSAGES = {
    "too_large": "The file is larger than %(limit_mb)s MB.",
    "bad_type": "This is not a spreadsheet. Upload an .xlsx, .xls or .csv file.",
    "bomb": "The file unpacks to far more data than a spreadsheet of its size can hold, "
    "so it was not opened.",
    "unreadable": "The file could not be read. It may be damaged or password-protected: "
    "open it in Excel and save it again as .xlsx or .csv.",
    "encoding": "The text encoding of this CSV file was not recognised. Save it as CSV UTF-8.",
    "no_header": "The file is empty. Its first row must hold the column names.",
    "empty": "The file has column names but no data rows.",
    "too_many_rows": "The file has more than %(limit)s data rows. "
    "Import at most %(limit)s rows at a time.",
    "too_many_columns": "The file has more than %(limit)s columns.",
    "cell_too_long": "Row %(row)s has a cell longer than %(limit)s characters.",
    "too_complex": "The file needs far more memory or time to open than a spreadsheet of its "
    "size should, so it was refused.",
}


class SpreadsheetError(Exception):
    """`code` is a stable identifier (a key of MESSAGES), `message` the English template and
    `params` its values; str(exc) is the filled-in, user-facing English message."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message % params if params else message)
        self.code = code
        self.message = message
        self.params = params


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    row_numbers: list[int]  # 1-based spreadsheet row of each data row, for "row 7: …"
    format: str  # "xlsx" | "xls" | "csv"
    encoding: str | None  # csv only


def _error(code: str, **params) -> SpreadsheetError:
    return SpreadsheetError(code, MESSAGES[code], **params)


@contextmanager
def _unreadable_on_error():
    # Parsers fed a hostile file fail in many ways (ParseError, KeyError, struct.error, zlib
    # errors, defusedxml's EntitiesForbidden, …); each only means "we cannot read this".
    try:
        yield
    except (SpreadsheetError, MemoryError):  # out of memory is a limit, not a bad file
        raise
    except Exception as exc:
        raise _error("unreadable") from exc


def detect_format(data: bytes) -> str:
    """The format by content: a name or an extension is whatever the uploader typed."""
    if data.startswith(_OLE2_SIGNATURE):
        return "xls"
    if data.startswith(_ZIP_SIGNATURE):
        if _XLSX_PARTS <= set(_zip_members(data)):
            return "xlsx"
        raise _error("bad_type")  # .docx, .ods, any other zip
    if not _BINARY_BYTES.search(data, 0, _TEXT_SAMPLE_BYTES):
        return "csv"
    raise _error("bad_type")


def read_table(data: bytes, filename: str = "") -> Table:
    """`filename` is accepted for the caller's convenience only: the content decides."""
    if len(data) > MAX_FILE_BYTES:
        raise _error("too_large", limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    readers = {"xlsx": _read_xlsx, "xls": _read_xls, "csv": _read_csv}
    return readers[detect_format(data)](data)


def _build_table(raw_rows: Iterable[tuple[int, list]], fmt: str, encoding=None) -> Table:
    """Shared by the three formats: the first non-empty row is the header; stops reading as
    soon as the row limit is passed, so a huge file costs no more than a full one."""
    headers = None
    rows, numbers = [], []
    for number, raw in raw_rows:
        cells = [_clean(_cell_text(value)) for value in raw]
        if not any(cells):
            continue
        _refuse_long_cells(cells, number)
        if headers is None:
            headers = _header(cells)
        elif len(rows) == MAX_DATA_ROWS:
            raise _error("too_many_rows", limit=MAX_DATA_ROWS)
        else:
            rows.append((cells + [""] * len(headers))[: len(headers)])
            numbers.append(number)
    if headers is None:
        raise _error("no_header")
    if not rows:
        raise _error("empty")
    return Table(headers, rows, numbers, fmt, encoding)


def _clean(text: str) -> str:
    # Control characters are garbage to a person and PostgreSQL refuses NUL outright.
    return _unneutralise(ILLEGAL_CHARACTERS_RE.sub("", text)).strip()


def _header(cells: list[str]) -> list[str]:
    # Trailing blanks are formatting, not columns; blanks and duplicates inside are kept for
    # the mapping step to explain.
    while not cells[-1]:
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise _error("too_many_columns", limit=MAX_COLUMNS)
    return cells


def _refuse_long_cells(cells: list[str], number: int) -> None:
    if any(len(cell) > MAX_CELL_CHARS for cell in cells):
        raise _error("cell_too_long", row=number, limit=MAX_CELL_CHARS)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


# --- xlsx -------------------------------------------------------------------------------------


def _zip_members(data: bytes) -> list[str]:
    with _unreadable_on_error(), zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def _refuse_zip_bomb(data: bytes) -> None:
    """Decided from the central directory alone, before a byte is inflated. The declared sizes
    can be trusted: zipfile stops inflating a member at its declared size and then fails the
    CRC check, so a member cannot secretly unpack to more."""
    with _unreadable_on_error(), zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    too_dense = any(
        m.file_size > _RATIO_FLOOR_BYTES and m.file_size > MAX_COMPRESSION_RATIO * m.compress_size
        for m in members
    )
    too_big = sum(m.file_size for m in members) > MAX_UNCOMPRESSED_BYTES
    if too_dense or too_big or len(members) > MAX_ZIP_MEMBERS:
        raise _error("bomb")


def _read_xlsx(data: bytes) -> Table:
    _refuse_zip_bomb(data)
    # With defusedxml installed openpyxl parses through it, so DTDs declaring entities (XXE,
    # billion laughs) raise instead of expanding.
    with _unreadable_on_error():
        book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    try:
        with _unreadable_on_error():
            sheet = book.worksheets[0]
            # Some writers store a wrong <dimension>; read the rows that are really there.
            sheet.reset_dimensions()
            return _build_table(_xlsx_rows(sheet), "xlsx")
    finally:
        book.close()


def _xlsx_rows(sheet) -> Iterator[tuple[int, tuple]]:
    # max_col bounds every row openpyxl builds, whatever column a crafted cell claims.
    rows = sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
    for number, values in enumerate(rows, start=1):
        # openpyxl fills the gap up to any row number a file claims, even row 10**9.
        if number > _EXCEL_MAX_ROWS:
            raise _error("unreadable")
        if values.count(None) == len(values):  # a gap row costs no conversion
            continue
        end = len(values)
        while values[end - 1] is None:  # nor does the padding up to column 201
            end -= 1
        yield number, values[:end]


# --- xls --------------------------------------------------------------------------------------


def _read_xls(data: bytes) -> Table:
    with _unreadable_on_error():
        # ragged_rows: a single far-away cell must not pad every row to the full sheet width.
        book = xlrd.open_workbook(
            file_contents=data, on_demand=True, ragged_rows=True, logfile=io.StringIO()
        )
    try:
        with _unreadable_on_error():
            sheet = book.sheet_by_index(0)
            rows = (
                (rowx + 1, [_xls_value(cell, book.datemode) for cell in sheet.row(rowx)])
                for rowx in range(sheet.nrows)
            )
            return _build_table(rows, "xls")
    finally:
        book.release_resources()


def _xls_value(cell, datemode: int):
    if cell.ctype == xlrd.XL_CELL_DATE:
        return _xls_date(cell.value, datemode)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "")
    return cell.value  # text, a float, or "" for empty and blank cells


def _xls_date(value: float, datemode: int):
    try:
        moment = xlrd.xldate_as_datetime(value, datemode)
    except (ValueError, OverflowError):
        return value  # formatted as a date but not one; keep the number rather than fail
    return moment.time() if 0 <= value < 1 else moment


# --- csv --------------------------------------------------------------------------------------


def _read_csv(data: bytes) -> Table:
    encoding, text = _decode(data)
    delimiter = _sniff_delimiter(text[:_SNIFF_CHARS])
    # newline="" leaves line breaks to the csv module, so quoted newlines stay in their cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return _build_table(_csv_rows(reader), "csv", encoding)


def _decode(data: bytes) -> tuple[str, str]:
    """Japanese Excel saves CSV as CP932 and sends no BOM; UTF-8 is tried strictly first
    because CP932 also accepts much that is not Japanese."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", data.decode("utf-8-sig")
    for encoding in ("utf-8", "cp932"):
        try:
            return encoding, data.decode(encoding)
        except UnicodeDecodeError:
            pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise _error("encoding")
    # charset_normalizer tells scripts apart well but guesses the Latin code page badly (it
    # reads most French or German files as Baltic cp1257); Excel on Western Windows writes
    # cp1252.
    if all("Latin" in name or name == "Control character" for name in best.alphabets):
        with suppress(UnicodeDecodeError):
            return "cp1252", data.decode("cp1252")
    return best.encoding, str(best)


def _sniff_delimiter(sample: str) -> str:
    # A half line at the end of the sample would skew the sniffer's column counts.
    sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        return ","  # one column, or nothing to go on


def _csv_rows(reader) -> Iterator[tuple[int, list[str]]]:
    """Numbered by record, as Excel numbers rows: a quoted newline does not start a row.
    csv.field_size_limit() is process-wide, so it stays untouched: _build_table enforces
    MAX_CELL_CHARS, and a field past the csv module's own limit is reported the same way."""
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if any(row):  # cheap skip of blank lines and ",,," rows, common in exports
                yield number, row[: MAX_COLUMNS + 1]  # as xlsx: no header can reach further
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _error("cell_too_long", row=number + 1, limit=MAX_CELL_CHARS) from exc
        raise _error("unreadable") from exc


# --- writing: sample files and the failed rows to fix and re-import ---------------------------


def neutralise(value: str) -> str:
    """A leading apostrophe keeps spreadsheet programs from running the cell as a formula
    (CSV injection, OWASP)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _unneutralise(value: str) -> str:
    # Our own failed-rows file comes back for re-import: "'+81 3 1234" must be "+81 3 1234".
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def write_csv(headers: list[str], rows: list[list[str]]) -> bytes:
    """UTF-8 with a BOM, without which Excel opens Japanese as mojibake."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in [headers, *rows]:
        writer.writerow([_safe_text(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(headers: list[str], rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in [headers, *rows]:
        sheet.append([_string_cell(sheet, _safe_text(value)) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _safe_text(value: str) -> str:
    # str(): headers may be lazy translations. Control characters: XML cannot hold them
    # (openpyxl would refuse the whole file) and our reader takes a CSV holding them for binary.
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _string_cell(sheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # a string, never a formula or an error such as "#N/A"
    return cell


def read_table_isolated(
    data: bytes, filename: str = "", *, memory_mb: int = 300, cpu_seconds: int = 20
) -> Table:
    """read_table in a forked child with hard limits on memory and CPU time.

    The checks in read_table stop zip bombs and oversized files, but a small, well-formed
    workbook can still be crafted so that openpyxl needs gigabytes or minutes (one row of a
    million empty cells, a million styles). Limits on a throwaway process end that for any
    reader, without guessing every shape such a file can take."""
    parent, child = multiprocessing.get_context("fork").Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(
        target=_read_in_child, args=(child, data, filename, memory_mb, cpu_seconds), daemon=True
    )
    process.start()
    child.close()
    try:
        if not parent.poll(cpu_seconds * 2 + 5):  # wall-clock guard on top of the CPU limit
            raise _error("too_complex")
        kind, value = parent.recv()
    except EOFError:  # killed by a limit before it could answer
        raise _error("too_complex") from None
    finally:
        parent.close()
        if process.is_alive():
            process.kill()
        process.join()
    if kind == "error":
        raise SpreadsheetError(*value[:2], **value[2])
    return value


def _read_in_child(pipe, data, filename, memory_mb, cpu_seconds):
    current = _address_space_bytes()
    budget = current + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    try:
        pipe.send(("table", read_table(data, filename)))
    except SpreadsheetError as error:
        pipe.send(("error", (error.code, error.message, error.params)))
    except MemoryError:
        pipe.send(("error", ("too_complex", MESSAGES["too_complex"], {})))
    finally:
        pipe.close()


def _address_space_bytes() -> int:
    """This process's current virtual size: the memory limit is set on top of it."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")
