"""Helpers shared by the browser tests (plain functions; the fixtures are in conftest.py)."""

from playwright.sync_api import expect


def htmx_settled(page):
    """htmx has swapped its target and bound the new elements: a person cannot act faster
    than that, a test can."""
    busy = page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    expect(busy).to_have_count(0)
