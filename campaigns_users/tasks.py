"""The Campaigns team's scheduled work: a thin adapter over campaigns_users.services."""

from celery import shared_task

from .services import members_expire


@shared_task(name="campaigns_users.tasks.expire_campaign_invitations_task")
def expire_campaign_invitations_task() -> int:
    """CAM-3: Invited members past their invitation's validity become Expired."""
    return members_expire()
