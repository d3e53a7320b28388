"""The worker finds every app's tasks through `<app>.tasks`; the import's lives beside the
service it runs."""

from .services import run_import_task

__all__ = ["run_import_task"]
