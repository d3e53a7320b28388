"""The worker finds the app's tasks here; each lives beside the service it runs."""

from celery import shared_task

from crm_portal.tenancy import TenantTask

from .contact_import import contact_import_run
from .outbox import process_record_event_task, sweep_record_events_task

__all__ = ["process_record_event_task", "run_contact_import_task", "sweep_record_events_task"]


@shared_task(base=TenantTask, acks_late=True, reject_on_worker_lost=True)
def run_contact_import_task(org_id: int, import_id: int) -> None:
    contact_import_run(import_id=import_id)
