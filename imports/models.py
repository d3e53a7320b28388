"""What every spreadsheet import stores, whatever it imports (IMP-2 … IMP-7). Abstract: each
kind of import keeps its own two tables (users.UserImport and UserImportRow,
records.ContactImport and ContactImportRow), and this app knows none of them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from crm_portal.stored_messages import render_text

STATUS_WORDS = {
    "uploaded": _("Not started"),
    "queued": _("Starting…"),
    "running": _("Processing…"),
    "done": _("Finished"),
}


class ImportRun(models.Model):
    """What every import shares: the file's shape, the chosen options, and progress. The
    file's rows are stored at upload; the worker processes each row in the same transaction as
    its outcome, so a crash or a re-run neither duplicates nor loses rows.

    A concrete run adds `org` (the tenant, which scopes its manager), `created_by` (the member
    who uploaded the file), and `mode` and `match_key` with the choices its kind offers; its
    rows point at it with related_name="rows"."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Not started")
        QUEUED = "queued", _("Waiting for the worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")

    filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=10)
    encoding = models.CharField(max_length=30, blank=True)
    headers = models.JSONField(default=list)
    keep_empty = models.BooleanField(default=True)
    mapping = models.JSONField(default=dict, blank=True, help_text="{column index: field}")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.filename

    @property
    def status_text(self) -> str:
        """The run's state in the member's words, with its progress while it runs."""
        # Not the choices' labels: those are part of the migrations, and speak of a worker.
        return str(STATUS_WORDS.get(self.status, self.status))

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 100


class ImportRow(models.Model):
    """One row of an imported file and what became of it. A concrete row adds `org`, its
    run, and a foreign key to the record it added or updated."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting")
        ADDED = "added", _("Added")
        UPDATED = "updated", _("Updated")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    row_number = models.PositiveIntegerField()
    values = models.JSONField(default=list)
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    reason = models.TextField(blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        abstract = True
        ordering = ["row_number"]

    @property
    def reason_text(self) -> str:
        """The reason in the viewer's language (X-1): reasons are stored as a code with
        parameters; a reason stored as plain text before that is shown as it is."""
        return render_text(self.reason)
