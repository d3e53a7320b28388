"""Test helpers for every import wizard: files to upload, and one wizard's pages as a member's
browser walks them."""

import csv
import io
from dataclasses import dataclass

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled


def csv_bytes(rows, encoding="utf-8"):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def outcomes(imp):
    with scopes_disabled():
        return [(row.outcome, row.reason_text) for row in imp.rows.order_by("row_number")]


@dataclass(frozen=True)
class WizardPages:
    route: str  # under /o/<org_slug>/, e.g. "users/import/"
    model: type  # the kind's import run, e.g. UserImport
    filename: str  # the name of an upload that gives none

    def url(self, org, suffix=""):
        return f"/o/{org.slug}/{self.route}{suffix}"

    def upload(self, client, org, rows, name=None, encoding="utf-8"):
        name = name or self.filename
        data = xlsx_bytes(rows) if name.endswith(".xlsx") else csv_bytes(rows, encoding)
        return client.post(self.url(org), {"file": SimpleUploadedFile(name, data)})

    def latest_import(self, org):
        with scopes_disabled():
            return self.model.objects.filter(org=org).latest("pk")

    def run_wizard(
        self,
        client,
        org,
        rows,
        capture,
        *,
        name=None,
        mode="add",
        match_key="email",
        keep_empty=True,
        mapping=None,
    ):
        """Upload → options → columns (auto unless given) → preview → run (eager worker)."""
        response = self.upload(client, org, rows, name)
        assert response.status_code == 302, response.content.decode()
        imp = self.latest_import(org)
        options = {"mode": mode, "match_key": match_key}
        if keep_empty:
            options["keep_empty"] = "on"
        assert client.post(self.url(org, f"{imp.pk}/options/"), options).status_code == 302
        columns = mapping if mapping is not None else imp.mapping
        response = client.post(self.url(org, f"{imp.pk}/columns/"), columns)
        assert response.status_code == 302, response.content.decode()
        with capture(execute=True):
            client.post(self.url(org, f"{imp.pk}/preview/"))
        return self.latest_import(org)
