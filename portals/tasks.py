"""The worker finds the app's tasks here; each lives beside the service it runs."""

from .autoinvite import (
    auto_invite_reminders_task,
    auto_invite_send_sweep_task,
    send_auto_invites_task,
)
from .autoinvite_match import match_now_task

__all__ = [
    "auto_invite_reminders_task",
    "auto_invite_send_sweep_task",
    "match_now_task",
    "send_auto_invites_task",
]
