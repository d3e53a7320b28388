"""IMP-1: uploaded .xlsx/.xls/.csv files become a table of strings, safely; the sample and
failed-rows files we write come back unchanged. Every fixture is built here, none is committed."""

import csv
import io
import random
import time
import tracemalloc
import zipfile
import zlib
from datetime import date, datetime

import openpyxl
import pytest
import xlwt

from imports import spreadsheets
from imports.spreadsheets import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_DATA_ROWS,
    MAX_FILE_BYTES,
    MAX_ZIP_MEMBERS,
    SpreadsheetError,
    detect_format,
    neutralise,
    read_table,
    write_csv,
    write_xlsx,
)

HEADERS = ["名前", "メール", "入社日", "社員番号"]
YAMADA = ["山田 太郎", "taro@example.jp", date(2024, 4, 1), 42]
YAMADA_TEXT = ["山田 太郎", "taro@example.jp", "2024-04-01", "42"]
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- fixture builders -------------------------------------------------------------------------


def xlsx_file(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xls_file(rows: list[list]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Users")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for rowx, row in enumerate(rows):
        for colx, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write(rowx, colx, value, date_style)
            else:
                sheet.write(rowx, colx, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(rows: list[list], encoding="utf-8", delimiter=",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([["" if v is None else str(v) for v in row] for row in rows])
    return buffer.getvalue().encode(encoding)


BUILDERS = {"xlsx": xlsx_file, "xls": xls_file, "csv": csv_file}


def package(replace: dict[str, bytes] | None = None, stream: dict | None = None) -> bytes:
    """A real openpyxl workbook with some members swapped for crafted ones; a `stream` member
    is written by a function in chunks, so a huge member never sits in the test's memory."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_file([["name"], ["x"]])))
    replace, stream = replace or {}, stream or {}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in base.namelist():
            if name in stream:
                with archive.open(name, "w") as member:
                    stream[name](member)
            else:
                archive.writestr(name, replace.get(name, base.read(name)))
    return out.getvalue()


def sheet_xml(rows_xml: str, prolog: str = "", dimension: str = "") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = f'<worksheet xmlns="{SHEET_NS}">{dim}<sheetData>{rows_xml}</sheetData></worksheet>'
    return (prolog + body).encode()


def text_row(number: int, *values: str) -> str:
    cells = "".join(f'<c t="inlineStr"><is><t>{value}</t></is></c>' for value in values)
    return f'<row r="{number}">{cells}</row>'


def refused(data: bytes) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        read_table(data)
    return caught.value


# --- each format, with Japanese text, a date and an integer -----------------------------------


def test_imp1_xlsx_reads_japanese_dates_and_numbers_as_strings():
    data = xlsx_file(
        [
            [" 名前 ", "メール", "入社日", "社員番号", "有効", "比率", "登録"],
            [*YAMADA, True, 0.5, datetime(2024, 4, 1, 9, 30)],
            ["鈴木 花子", None, datetime(2023, 10, 2), 7.0, False, 1e16, None],
        ]
    )

    table = read_table(data, "ユーザー.xlsx")

    assert table.format == "xlsx" and table.encoding is None
    assert table.headers == ["名前", "メール", "入社日", "社員番号", "有効", "比率", "登録"]
    assert table.rows == [
        [*YAMADA_TEXT, "TRUE", "0.5", "2024-04-01 09:30:00"],
        ["鈴木 花子", "", "2023-10-02", "7", "FALSE", "10000000000000000", ""],
    ]
    assert table.row_numbers == [2, 3]


def test_imp1_xls_reads_japanese_dates_and_numbers_as_strings():
    data = xls_file([[*HEADERS, "有効"], [*YAMADA, True], ["鈴木 花子", "", None, 7.5, False]])

    table = read_table(data, "users.xls")

    assert table.format == "xls" and table.encoding is None
    assert table.headers == [*HEADERS, "有効"]
    assert table.rows == [[*YAMADA_TEXT, "TRUE"], ["鈴木 花子", "", "", "7.5", "FALSE"]]
    assert table.row_numbers == [2, 3]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_imp1_csv_utf8_with_or_without_bom_and_cp932_are_detected(encoding):
    table = read_table(csv_file([HEADERS, YAMADA], encoding), "users.csv")

    assert table.format == "csv" and table.encoding == encoding
    assert table.headers == HEADERS  # no BOM left glued to the first header
    assert table.rows == [YAMADA_TEXT]


def test_imp1_csv_shift_jis_from_japanese_excel_is_detected():
    # Japanese Excel's "CSV" is CP932: it has the vendor characters plain Shift_JIS lacks.
    name = "髙橋 ①郎"
    with pytest.raises(UnicodeEncodeError):
        name.encode("shift_jis")
    data = csv_file([["氏名", "会社"], [name, "㈱サンプル"]], "cp932")

    table = read_table(data)

    assert table.encoding == "cp932"
    assert table.rows == [[name, "㈱サンプル"]]


def test_imp1_csv_latin1_is_read_via_charset_normalizer():
    people = [
        ["José", "García", "jose.garcia@example.es", "Málaga"],
        ["Renée", "Lefèvre", "renee.lefevre@example.fr", "Orléans"],
        ["Zoë", "Müller", "zoe.mueller@example.ch", "Zürich"],
        ["François", "Dupré", "francois.dupre@example.fr", "Besançon"],
        ["Søren", "Ærø", "soren.aero@example.dk", "Århus"],
    ]
    rows = [["first_name", "last_name", "email", "city"], *people]
    data = csv_file(rows, "latin-1")
    for strict in ("utf-8", "cp932"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(strict)

    table = read_table(data)

    assert table.encoding == "cp1252"  # Windows' superset of latin-1
    assert table.rows == people


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_imp1_csv_delimiter_is_sniffed_and_quoted_newlines_stay_in_the_cell(delimiter):
    rows = [
        ["名前", "メモ", "メール"],
        ["山田 太郎", f'一行目\r\n二行目{delimiter} "引用"', "taro@example.jp"],
        ["鈴木 花子", "", "hanako@example.jp"],
    ]

    table = read_table(csv_file(rows, delimiter=delimiter))

    assert table.headers == ["名前", "メモ", "メール"]
    assert table.rows == [rows[1], rows[2]]
    assert table.row_numbers == [2, 3]  # a quoted line break does not start a row


# --- the type is decided by content ----------------------------------------------------------


def test_imp1_xlsx_named_csv_is_read_as_xlsx_and_csv_named_xlsx_as_csv():
    assert read_table(xlsx_file([HEADERS, YAMADA]), "users.csv").format == "xlsx"
    assert read_table(csv_file([HEADERS, YAMADA]), "users.xlsx").format == "csv"
    assert detect_format(xls_file([HEADERS, YAMADA])) == "xls"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 600 /Filter /FlateDecode >>\nstream\n"
    + zlib.compress(
        b"".join(b"BT /F1 12 Tf 72 %d Td (Line %d) Tj ET\n" % (i, i) for i in range(60))
    )
    + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@pytest.mark.parametrize("data", [PNG, PDF], ids=["png", "pdf"])
def test_imp1_image_or_pdf_renamed_xlsx_is_bad_type(data):
    error = refused(data)

    assert error.code == "bad_type"
    assert ".xlsx, .xls or .csv" in str(error)


def test_imp1_zip_that_is_not_a_workbook_is_bad_type():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")

    assert refused(out.getvalue()).code == "bad_type"


def test_imp1_truncated_xlsx_or_xls_is_unreadable():
    assert refused(xlsx_file([HEADERS, YAMADA])[:2000]).code == "unreadable"
    assert refused(xls_file([HEADERS, YAMADA])[:1000]).code == "unreadable"


# --- at most 1,000 data rows ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv"])
def test_imp1_exactly_1000_data_rows_are_read(fmt):
    rows = [["name", "email"]] + [[f"user {i}", f"u{i}@example.jp"] for i in range(MAX_DATA_ROWS)]

    table = read_table(BUILDERS[fmt](rows))

    assert len(table.rows) == MAX_DATA_ROWS == 1000
    assert table.rows[-1] == ["user 999", "u999@example.jp"]
    assert table.row_numbers[-1] == 1001


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv"])
def test_imp1_1001_data_rows_are_refused(fmt):
    rows = [["name"]] + [[f"user {i}"] for i in range(MAX_DATA_ROWS + 1)]

    error = refused(BUILDERS[fmt](rows))

    assert error.code == "too_many_rows"
    assert error.params == {"limit": 1000}
    assert "more than 1000 data rows" in str(error)


def test_imp1_xlsx_with_50000_rows_is_refused_without_reading_them_all():
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>user {i}</t></is></c>'
        f'<c r="B{i}"><v>{i}</v></c></row>'
        for i in range(2, 50_002)
    )
    sheet = sheet_xml(text_row(1, "name", "number") + rows, dimension="A1:B50001")
    data = package({"xl/worksheets/sheet1.xml": sheet})

    started = time.perf_counter()
    error = refused(data)
    elapsed = time.perf_counter() - started

    assert error.code == "too_many_rows"
    assert elapsed < 2  # reading all 50,000 rows takes several seconds


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv"])
def test_imp1_blank_rows_are_skipped_and_row_numbers_point_at_the_sheet(fmt):
    rows = [
        [None, None, None],
        [" 名前 ", "名前", None, "", None],  # trailing blank header cells are not columns
        ["山田 太郎", None, " x "],
        [None, None, None],
        ["  ", "", None],
        ["鈴木 花子", "a", "b", None, "beyond the header"],
    ]

    table = read_table(BUILDERS[fmt](rows))

    assert table.headers == ["名前", "名前"]  # duplicates are kept for the mapping step
    assert table.rows == [["山田 太郎", ""], ["鈴木 花子", "a"]]
    assert table.row_numbers == [3, 6]


def test_imp1_blank_header_names_inside_the_header_are_kept():
    table = read_table(csv_file([["name", " ", "email"], ["a", "b", "c"]]))

    assert table.headers == ["name", "", "email"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "no_header"),
        (b"\r\n  \r\n,,,\r\n", "no_header"),
        (csv_file([HEADERS]), "empty"),
        (csv_file([HEADERS, [], ["", " "]]), "empty"),
        (xlsx_file([]), "no_header"),
        (xlsx_file([HEADERS]), "empty"),
        (xls_file([HEADERS]), "empty"),
    ],
    ids=["empty-csv", "blank-csv", "header-only-csv", "header-and-blanks", "empty-xlsx",
         "header-only-xlsx", "header-only-xls"],
)  # fmt: skip
def test_imp1_file_without_header_or_without_data_is_refused(data, code):
    assert refused(data).code == code


def test_imp1_header_wider_than_max_columns_is_refused():
    wide = [[f"c{i}" for i in range(MAX_COLUMNS + 1)], ["x"]]

    assert refused(csv_file(wide)).code == "too_many_columns"
    assert read_table(csv_file([wide[0][:MAX_COLUMNS], ["x"]])).headers[-1] == "c199"


# --- hostile files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    def five_hundred_mb_of_spaces(member):
        member.write(sheet_xml("")[: -len(b"</sheetData></worksheet>")])
        chunk = b" " * (1 << 20)
        for _ in range(500):
            member.write(chunk)
        member.write(b"</sheetData></worksheet>")

    return package(stream={"xl/worksheets/sheet1.xml": five_hundred_mb_of_spaces})


def test_imp1_xlsx_zip_bomb_is_refused_before_anything_is_inflated(zip_bomb):
    assert len(zip_bomb) < 1024 * 1024  # small enough to pass the upload size check

    tracemalloc.start()
    started = time.perf_counter()
    error = refused(zip_bomb)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert error.code == "bomb"
    assert elapsed < 1
    assert peak < 100 * 1024 * 1024


def test_imp1_xlsx_member_that_compresses_too_well_is_a_bomb():
    # 20 MB is under the total limit; a ratio of ~1000:1 is not.
    data = package({"xl/worksheets/sheet1.xml": sheet_xml(" " * 20_000_000)})

    assert refused(data).code == "bomb"


def test_imp1_xlsx_with_too_many_members_is_a_bomb():
    base = xlsx_file([["name"], ["x"]])
    out = io.BytesIO(base)
    with zipfile.ZipFile(out, "a") as archive:
        for i in range(MAX_ZIP_MEMBERS):
            archive.writestr(f"xl/media/pad{i}.bin", b"")

    assert refused(out.getvalue()).code == "bomb"


XXE = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
LAUGHS = (
    '<!DOCTYPE x [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    + "]>"
)


def test_imp1_crafted_sheet_without_a_dtd_is_read():
    # The control for the two tests below: the same crafted package, minus the DTD, reads.
    sheet = sheet_xml(text_row(1, "name") + text_row(2, "plain"))

    assert read_table(package({"xl/worksheets/sheet1.xml": sheet})).rows == [["plain"]]


@pytest.mark.parametrize(
    ("prolog", "entity"), [(XXE, "&xxe;"), (LAUGHS, "&lol9;")], ids=["xxe", "billion-laughs"]
)
def test_imp1_xlsx_sheet_with_entities_is_unreadable(prolog, entity):
    sheet = sheet_xml(text_row(1, "name") + text_row(2, entity), prolog=prolog)

    started = time.perf_counter()
    error = refused(package({"xl/worksheets/sheet1.xml": sheet}))

    assert error.code == "unreadable"
    assert time.perf_counter() - started < 1
    assert "root:" not in str(error) and "root:" not in repr(error.__cause__)


@pytest.mark.parametrize("part", ["xl/workbook.xml", "docProps/core.xml", "xl/styles.xml"])
def test_imp1_xlsx_xxe_in_any_part_is_unreadable(part):
    original = zipfile.ZipFile(io.BytesIO(xlsx_file([["a"]]))).read(part)

    error = refused(package({part: XXE.encode() + original}))

    assert error.code == "unreadable"


def test_imp1_openpyxl_parses_uploads_through_defusedxml():
    # The premise of the two tests above; stdlib expat would refuse those files too, so this
    # is what fails if defusedxml goes missing or OPENPYXL_DEFUSEDXML=False is set.
    import defusedxml.ElementTree
    from openpyxl.xml import functions

    assert functions.iterparse is defusedxml.ElementTree.iterparse
    assert functions.fromstring is defusedxml.ElementTree.fromstring


def test_imp1_xlsx_row_number_beyond_excel_is_unreadable_not_a_endless_loop():
    sheet = sheet_xml(text_row(1, "name") + text_row(1_000_000_000, "far away"))

    started = time.perf_counter()
    error = refused(package({"xl/worksheets/sheet1.xml": sheet}))

    assert error.code == "unreadable"
    assert time.perf_counter() - started < 10  # openpyxl alone would walk 10**9 empty rows


def test_imp1_xlsx_cell_in_the_last_column_does_not_widen_every_row():
    far = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>v{i}</t></is></c>'
        f'<c r="XFD{i}"><v>1</v></c></row>'
        for i in range(2, 1002)
    )
    data = package({"xl/worksheets/sheet1.xml": sheet_xml(text_row(1, "name") + far)})

    table = read_table(data)

    assert table.headers == ["name"]
    assert table.rows[-1] == ["v1001"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_imp1_cell_longer_than_10000_chars_is_refused_with_its_row(fmt):
    rows = [["name", "note"], ["a", "x" * MAX_CELL_CHARS], ["b", "y" * (MAX_CELL_CHARS + 1)]]

    error = refused(BUILDERS[fmt](rows))

    assert error.code == "cell_too_long"
    assert error.params == {"row": 3, "limit": 10_000}
    assert str(error) == "Row 3 has a cell longer than 10000 characters."


def test_imp1_csv_field_beyond_the_csv_module_limit_is_too_long_and_the_limit_is_untouched():
    limit_before = csv.field_size_limit()
    data = csv_file([["name"], ["a"], ["z" * (min(limit_before, 1_000_000) + 1)]])

    error = refused(data)

    assert (error.code, error.params["row"]) == ("cell_too_long", 3)
    assert csv.field_size_limit() == limit_before


def test_imp1_file_over_5_mb_is_too_large():
    data = b"name\r\n" + b"x" * MAX_FILE_BYTES

    error = refused(data)

    assert error.code == "too_large"
    assert str(error) == "The file is larger than 5 MB."


def test_imp1_unknown_binary_is_bad_type_and_an_ole2_file_that_is_not_a_workbook_unreadable():
    assert refused(b"\x00\x01binary" * 100).code == "bad_type"
    assert refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600).code == "unreadable"


# --- the files we write: samples and failed rows ----------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("value", FORMULAS)
def test_imp1_neutralise_prefixes_formula_starts_with_an_apostrophe(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["a-b", "", "山田 太郎", "taro@example.jp", "'quoted"])
def test_imp1_neutralise_leaves_ordinary_text_alone(value):
    assert neutralise(value) == value


FAILED_ROWS = [
    ["山田 太郎", "taro@example.jp", "+81 3-1234-5678"],
    ['=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "-2"],
    ["a-b", "", "0042"],
    ["#N/A", "=1+1", "TRUE"],
]
FAILED_HEADERS = ["名前", "メール", "電話"]


def test_imp1_write_csv_neutralises_and_reimports_unchanged():
    data = write_csv(FAILED_HEADERS, FAILED_ROWS)

    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Japanese
    written = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert written[2] == ['\'=HYPERLINK("http://evil.example","x")', "'@SUM(A1)", "'-2"]
    assert written[1][2] == "'+81 3-1234-5678" and written[3] == ["a-b", "", "0042"]
    table = read_table(data)
    assert (table.format, table.encoding) == ("csv", "utf-8-sig")
    assert table.headers == FAILED_HEADERS
    assert table.rows == FAILED_ROWS


def test_imp1_write_xlsx_writes_every_cell_as_neutralised_text_and_reimports_unchanged():
    data = write_xlsx(FAILED_HEADERS, FAILED_ROWS)

    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    # text only: no formula ("f"), number ("n"), boolean ("b") or error ("e") cell
    assert {cell.data_type for cell in cells} <= {"s", "inlineStr"}
    assert sheet["A3"].value == '\'=HYPERLINK("http://evil.example","x")'
    assert (sheet["A5"].value, sheet["B5"].value) == ("#N/A", "'=1+1")
    assert sheet["C4"].value == "0042"
    table = read_table(data)
    assert table.format == "xlsx"
    assert table.headers == FAILED_HEADERS
    assert table.rows == FAILED_ROWS


@pytest.mark.parametrize("write", [write_csv, write_xlsx])
def test_imp1_written_files_drop_control_characters_and_stay_importable(write):
    rows = [["tab\tinside", "\tleading tab", "nul\x00and bell\x07"]]

    table = read_table(write(["a", "b", "c"], rows))

    assert table.rows == [["tab\tinside", "leading tab", "nuland bell"]]


def test_imp1_csv_nul_after_the_sniffed_start_is_dropped():
    # PostgreSQL refuses NUL in text, so it must not reach the import.
    data = csv_file([["name"], *[["x" * 100]] * 100, ["bad\x00name"]])

    assert read_table(data).rows[-1] == ["badname"]


def test_imp1_writers_accept_lazy_translated_headers():
    # The audit export and the sample files pass gettext_lazy headers straight through.
    from django.utils.translation import gettext_lazy

    data = write_csv([gettext_lazy("Name")], [["x"]])

    assert read_table(data).headers == ["Name"]
    assert read_table(write_xlsx([gettext_lazy("Name")], [["x"]])).headers == ["Name"]


def crafted_wide_row() -> bytes:
    """Small and well-formed, inside every size and ratio limit, yet openpyxl needs hundreds
    of MB to read it: one data row of 400,000 empty cells."""
    noise = random.Random(7)  # comments between cells keep the ratio honest-looking
    cells = "".join(f"<c/><!--{noise.getrandbits(32):08x}-->" for _ in range(400_000))
    rows = text_row(1, "Email") + '<row r="2">' + cells + "</row>"
    return package(replace={"xl/worksheets/sheet1.xml": sheet_xml(rows)})


def test_imp1_isolated_reader_reads_an_ordinary_file_like_read_table():
    data = xlsx_file([["名", "Email"], ["太郎", "taro@example.jp"]])
    table = spreadsheets.read_table_isolated(data, "u.xlsx")
    assert (table.headers, table.rows) == (["名", "Email"], [["太郎", "taro@example.jp"]])
    with pytest.raises(SpreadsheetError) as refused_too:
        spreadsheets.read_table_isolated(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "x.xlsx")
    assert refused_too.value.code == "bad_type"


def test_imp1_crafted_workbook_hitting_the_memory_limit_is_too_complex():
    """The child process dies at its memory limit; the web process stays small."""
    data = crafted_wide_row()
    assert len(data) < spreadsheets.MAX_FILE_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(SpreadsheetError) as refused_wide:
            spreadsheets.read_table_isolated(data, "wide.xlsx", memory_mb=64, cpu_seconds=20)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused_wide.value.code == "too_complex"
    assert peak < 20 * 1024 * 1024


def crafted_blank_rows() -> bytes:
    """Hundreds of thousands of blank rows: cheap to send, slow to read."""
    noise = random.Random(11)
    rows = text_row(1, "Email") + "".join(
        f'<row r="{n}"><c r="A{n}"/></row><!--{noise.getrandbits(32):08x}-->'
        for n in range(2, 400_000)
    )
    return package(replace={"xl/worksheets/sheet1.xml": sheet_xml(rows)})


def test_imp1_crafted_workbook_hitting_the_cpu_limit_is_too_complex():
    data = crafted_blank_rows()
    assert len(data) < spreadsheets.MAX_FILE_BYTES
    started = time.monotonic()
    with pytest.raises(SpreadsheetError) as refused_slow:
        spreadsheets.read_table_isolated(data, "blank.xlsx", memory_mb=2048, cpu_seconds=1)
    assert time.monotonic() - started < 5
    assert refused_slow.value.code == "too_complex"
