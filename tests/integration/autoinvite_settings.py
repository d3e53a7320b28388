"""Settings for the auto-invite workers' tests (DJANGO_SETTINGS_MODULE in their environment):
the project's consumers (auto-invite) plus one that can hold a batch open, registered after
auto-invite so the batch's portal users are written but not committed when it holds."""

from crm_portal.settings import *  # noqa: F403

RECORD_EVENT_CONSUMERS = [
    *RECORD_EVENT_CONSUMERS,  # noqa: F405
    "tests.integration.autoinvite_hold.hold",
]
