"""The worker finds the app's tasks here; each lives beside the service it runs."""

from .outbox import process_record_event_task, process_record_events_task, sweep_record_events_task

__all__ = ["process_record_event_task", "process_record_events_task", "sweep_record_events_task"]
