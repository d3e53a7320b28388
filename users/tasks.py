from celery import shared_task

from crm_portal.tenancy import TenantTask

from .import_services import user_import_run


@shared_task(base=TenantTask, acks_late=True, reject_on_worker_lost=True)
def run_user_import_task(org_id: int, import_id: int) -> None:
    user_import_run(import_id=import_id)
