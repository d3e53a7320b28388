"""The worker finds the mail add-on's tasks here; each lives beside the service it runs."""

from .backups import mailbox_backup_task
from .sync import mailbox_sync_task, mailboxes_sync_all_task

__all__ = ["mailbox_backup_task", "mailbox_sync_task", "mailboxes_sync_all_task"]
