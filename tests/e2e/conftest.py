"""Browser fixtures: Debian's Chromium driven by Playwright, and a real SMTP sink (aiosmtpd).

`playwright install` cannot download here, so Chromium comes from the system package.
Give a test another window size by parametrising `viewport`:

    @pytest.mark.parametrize("viewport", [{"width": 375, "height": 740}])
"""

import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Every action and expect() waits this long: generous for a loaded 2-core machine, and it only
# costs time when something is broken. Waits on a worker give their own, longer timeout.
TIMEOUT_MS = 30_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def viewport():
    return {"width": 1280, "height": 800}


@pytest.fixture
def page(browser, viewport):
    """A fresh context (no cookies, English) per test; an uncaught script error fails it."""
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    yield page
    context.close()
    assert not script_errors, f"JavaScript errors on the page: {script_errors}"


class MailSink:
    """aiosmtpd handler that keeps every message it is given, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.host, self.port = "", 0  # set once the server listens
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def process_env(self) -> dict[str, str]:
        """The environment that points another process (a Celery worker) at this sink."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": str(self.port),
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": "false",
        }

    def messages_to(self, address: str) -> list[EmailMessage]:
        address = address.lower()
        with self._arrived:
            return [m for m in self.messages if address in m["X-Envelope-To"].lower()]

    def wait_for_message_to(self, address: str, timeout: float = 60) -> EmailMessage:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"No mail to {address} within {timeout}s")
                self._arrived.wait(remaining)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend delivers to it.

    pytest-django forces the locmem backend for the session; `settings` overrides it for
    this test only (the live server runs in this process, so it sees the same settings); a
    worker process is pointed at it with `sink.process_env()`.
    """
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    sink.host, sink.port = controller.hostname, controller.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()
