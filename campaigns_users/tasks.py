"""The Campaigns team's scheduled work: a thin adapter over campaigns_users.services."""

from celery import shared_task

from .retention import deleted_accounts_notify, deleted_accounts_purge
from .services import members_expire


@shared_task(name="campaigns_users.tasks.expire_campaign_invitations_task")
def expire_campaign_invitations_task() -> int:
    """CAM-3: Invited members past their invitation's validity become Expired."""
    return members_expire()


@shared_task(name="campaigns_users.tasks.deleted_campaign_accounts_task")
def deleted_campaign_accounts_task() -> int:
    """CAM-8, CAM-10: the notices 30 and 7 days before, then the purge of deleted accounts."""
    return deleted_accounts_notify() + deleted_accounts_purge()
