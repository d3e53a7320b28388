"""The worker finds the portals' tasks here; each lives beside the service it runs."""

from .autoinvite_match import match_now_task

__all__ = ["match_now_task"]
