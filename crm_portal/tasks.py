"""The worker finds every app's tasks through `<app>.tasks`; the kernel's live beside the
services they run."""

from .mail import send_email_task

__all__ = ["send_email_task"]
