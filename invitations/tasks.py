"""The worker finds every app's tasks through `<app>.tasks`; the invitations' live beside the
services they run."""

from .delivery import deliver_invitation_task, deliver_invitations_task
from .services import invitations_redeliver_stale_task

__all__ = [
    "deliver_invitation_task",
    "deliver_invitations_task",
    "invitations_redeliver_stale_task",
]
