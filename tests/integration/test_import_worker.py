"""IMP-6, IMP-7 with real processes: a worker killed in the middle of an import, then the
import resumed on a new worker, ends with every row done once — no duplicate, no loss."""

import os
import signal

import pytest
from django_scopes import scope, scopes_disabled

from imports.services import import_resume, import_set_mapping, import_start, import_upload
from tests.imports.wizard import csv_bytes
from tests.workers import wait_for
from users.importing import USER_IMPORT
from users.models import CrmUser, UserImport

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROWS = 300
# Slow enough that the kill lands mid-import even when this process is the one kept waiting.
SLOW = {"USER_IMPORT_BATCH_SIZE": "10", "USER_IMPORT_BATCH_PAUSE_MS": "200"}


def progress(imp):
    with scopes_disabled():
        return UserImport.objects.get(pk=imp.pk)


def test_imp7_worker_killed_mid_import_then_resumed_elsewhere(org_a, admin_a, start_celery):
    org_a.plan, org_a.purchased_licences = "paid", ROWS + 10
    org_a.save()
    rows = [["First name", "Last name", "Email"]] + [
        ["Imp", f"Row{i:03}", f"row{i:03}@example.jp"] for i in range(ROWS)
    ]
    first = start_celery("worker", **SLOW)
    with scope(org=org_a):
        imp = import_upload(
            kind=USER_IMPORT, org=org_a, actor=admin_a, filename="big.csv", data=csv_bytes(rows)
        )
        import_set_mapping(kind=USER_IMPORT, imp=imp, actor=admin_a, mapping=imp.mapping)
        import_start(kind=USER_IMPORT, imp=imp, actor=admin_a)

    assert wait_for(lambda: progress(imp).processed_rows >= 30), first.log()
    os.kill(first.popen.pid, signal.SIGKILL)  # the worker dies mid-import
    first.popen.wait()
    stopped_at = progress(imp)
    assert stopped_at.status == "running" and stopped_at.processed_rows < ROWS

    second = start_celery("worker")
    # The unacknowledged task may come back to the new worker by itself (acks_late); if it
    # has not, the admin's "hand it to a worker again" does it.
    with scope(org=org_a):
        import_resume(kind=USER_IMPORT, imp=imp, actor=admin_a)
    assert wait_for(lambda: progress(imp).status == "done", timeout=120), second.log()

    with scopes_disabled():
        emails = list(
            CrmUser.objects.filter(org=org_a, email__startswith="row").values_list(
                "email", flat=True
            )
        )
        outcomes = set(progress(imp).rows.values_list("outcome", flat=True))
    assert len(emails) == ROWS and len(set(emails)) == ROWS
    assert outcomes == {"added"}
