"""Settings for the outbox drill's workers (DJANGO_SETTINGS_MODULE in their environment): the
project's settings plus the drill's consumer, registered as any consumer is (AUT-8)."""

from crm_portal.settings import *  # noqa: F403

RECORD_EVENT_CONSUMERS = ["tests.integration.drill_consumer.remember"]

# Timestamps in the relay's log, to read a drill's timeline.
LOGGING = {
    **LOGGING,  # noqa: F405
    "formatters": {"drill": {"format": "[%(asctime)s: %(levelname)s/%(name)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "drill"}},
}
