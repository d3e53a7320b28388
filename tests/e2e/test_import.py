"""The user import in a browser with a real worker (IMP-1, IMP-2, IMP-6): upload an .xlsx,
check the columns, preview, run, watch the progress bar move, download the failed rows."""

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROWS = 200
WORKER_MS = 120_000  # the worker's whole run, on a loaded machine


def workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓", "名", "メールアドレス", "役職", "プロファイル"])
    for i in range(ROWS):
        sheet.append([f"山田{i}", "太郎", f"taro{i}@example.jp", "Manager", "Standard"])
    sheet.append(['=HYPERLINK("http://evil")', "Bad", "not-an-email", "", ""])
    sheet.cell(row=sheet.max_row, column=1).data_type = "s"  # text that looks like a formula
    sheet.append(["", "Nolast", "nolast@example.jp", "", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_imp6_upload_map_watch_progress_and_download_failed_rows(
    page, live_server, admin_a, org_a, start_celery, tmp_path
):
    org_a.plan, org_a.purchased_licences = "paid", ROWS + 10
    org_a.save()
    start_celery("worker", USER_IMPORT_BATCH_SIZE="10", USER_IMPORT_BATCH_PAUSE_MS="300")
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/users/")
    page.get_by_role("link", name="Import users").click()
    page.get_by_label("File").set_input_files(
        files=[{"name": "team.xlsx", "mimeType": "application/octet-stream", "buffer": workbook()}]
    )
    page.get_by_role("button", name="Upload and continue").click()

    expect(page.get_by_text(f"{ROWS + 2} rows found.")).to_be_visible()
    page.get_by_label("Add as new users").check()
    page.get_by_role("button", name="Next: columns").click()
    expect(page.get_by_label("メールアドレス")).to_have_value("email")  # auto-mapped
    expect(page.get_by_label("姓", exact=True)).to_have_value("last_name")
    page.get_by_role("button", name="Next: preview").click()
    expect(page.locator("#preview-counts")).to_contain_text(
        f"{ROWS} added, 0 updated, 0 skipped, 2 with errors"
    )
    page.get_by_role("button", name="Run the import").click()

    # htmx swaps the bar every second while the worker runs, so read it only through expect(),
    # which looks again until it matches: a value in the first half, then one in the second,
    # neither 0 nor 100 — the bar moved. The pauses between batches make the run last seconds.
    bar = page.locator("#import-progress progress")
    expect(bar).to_have_attribute("value", re.compile(r"^([1-9]|[1-4][0-9])$"), timeout=WORKER_MS)
    expect(bar).to_have_attribute("value", re.compile(r"^[5-9][0-9]$"), timeout=WORKER_MS)
    expect(page.locator("#count-added")).to_have_text(str(ROWS), timeout=WORKER_MS)
    expect(page.locator("#count-failed")).to_have_text("2")

    with page.expect_download() as info:
        page.locator("#failed-xlsx").click()
    path = tmp_path / "failed.xlsx"
    info.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == ("姓", "名", "メールアドレス", "役職", "プロファイル", "Error")
    assert rows[1][0] == '\'=HYPERLINK("http://evil")', "formulas are neutralised"
    assert rows[1][5] == "“not-an-email” is not a valid email address."
    assert rows[2][5] == "Last name is required."
