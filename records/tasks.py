from celery import shared_task

from crm_portal.tenancy import TenantTask

from .services import record_event_process, record_events_sweep


@shared_task(base=TenantTask, acks_late=True, max_retries=5)
def process_record_event_task(org_id: int, event_id: int) -> bool:
    return record_event_process(event_id=event_id)


@shared_task
def sweep_record_events_task() -> int:
    return record_events_sweep()
