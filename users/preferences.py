"""What a CRM user may choose for their locale, date and time display (USR-6), and the
preferences of whoever is viewing the current page, so every date and time the app shows
follows them."""

import datetime
import functools
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django import forms
from django.utils import dateformat, formats, timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Locale:
    label: str
    date_formats: tuple[str, ...]  # Django date-format strings; the first is the default


LOCALES: dict[str, Locale] = {
    "en_US": Locale(_("English (United States)"), ("m/d/Y", "Y-m-d", "M j, Y")),
    "en_GB": Locale(_("English (United Kingdom)"), ("d/m/Y", "Y-m-d", "j M Y")),
    "ja_JP": Locale(_("Japanese (Japan)"), ("Y/m/d", "Y年n月j日", "Y-m-d")),
    "fr_FR": Locale(_("French (France)"), ("d/m/Y", "d.m.Y", "Y-m-d")),
    "de_DE": Locale(_("German (Germany)"), ("d.m.Y", "d.m.y", "Y-m-d")),
    "es_ES": Locale(_("Spanish (Spain)"), ("d/m/Y", "d-m-Y", "Y-m-d")),
}
DEFAULT_LOCALE = "en_US"
LOCALE_CHOICES = [(code, locale.label) for code, locale in LOCALES.items()]
ALL_DATE_FORMATS = frozenset(f for locale in LOCALES.values() for f in locale.date_formats)

TIME_FORMATS = {"12": "g:i A", "24": "H:i"}
TIME_FORMAT_CHOICES = [("12", _("12-hour (1:30 PM)")), ("24", _("24-hour (13:30)"))]

_TIME_ZONE_SET = frozenset(zoneinfo.available_timezones())
_REGIONS = (
    "Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/",
    "Europe/", "Indian/", "Pacific/",
)  # fmt: skip
# The zones offered in lists: "Region/City" names and UTC. Older aliases ("Japan", "Cuba",
# "US/Eastern") stay valid for what is already stored, but are not offered: they read like
# country names and would repeat the canonical zones.
TIME_ZONES = ["UTC", *sorted(zone for zone in _TIME_ZONE_SET if zone.startswith(_REGIONS))]

# Day 31 of month 12 tells day-first from month-first at a glance.
SAMPLE_DATE = datetime.date(2025, 12, 31)

# Outside an organisation's pages (no viewer known): unambiguous ISO-like output.
FALLBACK_DATE_FORMAT = "Y-m-d"
FALLBACK_TIME_FORMAT = "H:i"


def date_formats_for(locale: str) -> list[tuple[str, str]]:
    """(format, the sample date in that format) for each date format the locale allows;
    empty for an unknown locale."""
    if locale not in LOCALES:
        return []
    return [(f, dateformat.format(SAMPLE_DATE, f)) for f in LOCALES[locale].date_formats]


def default_date_format(locale: str) -> str:
    return LOCALES.get(locale, LOCALES[DEFAULT_LOCALE]).date_formats[0]


# A member's date_format "" means "Default for my language".
LANGUAGE_DEFAULT = ""
LANGUAGES_WITH_OWN_DATE_FORMAT = ("ja",)


def language_date_format(locale: str) -> str:
    """The date format for "Default for my language": in a Japanese UI the ja format module's
    YYYY/MM/DD (crm_portal/formats/ja), otherwise the default of the member's locale."""
    language = (translation.get_language() or "").split("-")[0]
    if language in LANGUAGES_WITH_OWN_DATE_FORMAT:
        return formats.get_format("SHORT_DATE_FORMAT", lang=language)
    return default_date_format(locale)


def is_valid_time_zone(name: str) -> bool:
    return name in _TIME_ZONE_SET


# --- the viewer of the current request -------------------------------------------------------


@dataclass(frozen=True)
class ViewerPreferences:
    date_format: str
    time_format: str  # a Django time-format string, e.g. "g:i A"
    time_zone: datetime.tzinfo

    @classmethod
    def of(cls, membership) -> "ViewerPreferences":
        """A member's preferences; a stored value the app doesn't offer (e.g. written before
        a choice was removed) falls back rather than breaking every page they open."""
        date_format = membership.date_format
        if date_format not in ALL_DATE_FORMATS:
            # "" (default for my language, X-1) and any value no longer offered
            date_format = language_date_format(membership.locale)
        zone = membership.time_zone
        if not is_valid_time_zone(zone):  # then the org's time zone (ORG-7), then UTC
            zone = membership.org.time_zone
        if not is_valid_time_zone(zone):
            zone = "UTC"
        return cls(
            date_format=date_format,
            time_format=TIME_FORMATS.get(membership.time_format, FALLBACK_TIME_FORMAT),
            time_zone=zoneinfo.ZoneInfo(zone),
        )


_viewer: ContextVar[ViewerPreferences | None] = ContextVar("viewer_preferences", default=None)


@contextmanager
def viewer_preferences(membership) -> Iterator[ViewerPreferences]:
    """Within the block, dates and times are shown as `membership` prefers, and aware
    datetimes are converted to their time zone (templates and __date lookups alike)."""
    preferences = ViewerPreferences.of(membership)
    token = _viewer.set(preferences)
    timezone.activate(preferences.time_zone)
    try:
        yield preferences
    finally:
        timezone.deactivate()
        _viewer.reset(token)


def current_viewer() -> ViewerPreferences:
    return _viewer.get() or ViewerPreferences(
        date_format=FALLBACK_DATE_FORMAT,
        time_format=FALLBACK_TIME_FORMAT,
        time_zone=timezone.get_current_timezone(),
    )


def format_date(value: datetime.date | datetime.datetime | None) -> str:
    """A date (or the date of a datetime, in the viewer's zone) in the viewer's format."""
    if value is None or value == "":
        return ""
    viewer = current_viewer()
    if isinstance(value, datetime.datetime):
        value = _in_zone(value, viewer.time_zone).date()
    return date_format_fast(value, viewer.date_format)


def format_datetime(value: datetime.datetime | None) -> str:
    """A datetime in the viewer's zone, date format and 12/24-hour time format."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime.datetime):
        return format_date(value)
    viewer = current_viewer()
    value = _in_zone(value, viewer.time_zone)
    return (
        f"{date_format_fast(value, viewer.date_format)} "
        f"{date_format_fast(value, viewer.time_format)}"
    )


# What dateformat.format gives for each format character the offered formats use (the same
# strings, checked against it for every offered format in tests/users/test_preferences.py),
# without its per-call parsing: a list page shows dozens of dates (issue 16, speed).
_FAST_FIELDS = {
    "d": lambda v: f"{v.day:02d}",
    "j": lambda v: str(v.day),
    "m": lambda v: f"{v.month:02d}",
    "n": lambda v: str(v.month),
    "Y": lambda v: f"{v.year:04d}",
    "y": lambda v: f"{v.year % 100:02d}",
    "M": lambda v: str(MONTHS_3[v.month]).title(),
    "H": lambda v: f"{v.hour:02d}",
    "G": lambda v: str(v.hour),
    "g": lambda v: str(v.hour % 12 or 12),
    "i": lambda v: f"{v.minute:02d}",
    "A": lambda v: dateformat.TimeFormat(v).A(),  # Django's own translated AM/PM
}
_TIME_FIELDS = frozenset("GgHiA")
_FORMAT_CHARACTERS = frozenset("aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ")


@functools.lru_cache(maxsize=64)
def _compiled(fmt: str) -> tuple | None:
    """`fmt` as a tuple of literal strings and field functions; None when it uses anything
    else (an escape, a character not in _FAST_FIELDS): dateformat then formats it."""
    parts = []
    for character in fmt:
        if character in _FAST_FIELDS:
            parts.append(_FAST_FIELDS[character])
        elif character in _FORMAT_CHARACTERS or character == "\\":
            return None
        else:
            parts.append(character)
    return tuple(parts)


def date_format_fast(value: datetime.date | datetime.datetime, fmt: str) -> str:
    """dateformat.format(value, fmt), faster for the formats users choose from."""
    parts = _compiled(fmt)
    if parts is None or (
        not isinstance(value, datetime.datetime) and any(c in _TIME_FIELDS for c in fmt)
    ):
        return dateformat.format(value, fmt)  # which refuses time fields for a date
    return "".join(part if isinstance(part, str) else part(value) for part in parts)


def _in_zone(value: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    return value.astimezone(zone) if timezone.is_aware(value) else value


# --- the time zone field of the forms ---------------------------------------------------------


class TimeZoneSelect(forms.Select):
    """Lists the offered zones, and a stored older alias as the chosen one, so that saving
    a form never moves a member to another zone unasked."""

    def optgroups(self, name, value, attrs=None):
        groups = super().optgroups(name, value, attrs)
        offered = set(TIME_ZONES)
        for zone in value:
            if zone and zone not in offered and is_valid_time_zone(zone):
                option = self.create_option(name, zone, zone, True, 0, attrs=attrs)
                groups.insert(0, (None, [option], 0))
        return groups


class TimeZoneField(forms.ChoiceField):
    """A time zone: one of TIME_ZONES, or any other valid zone already stored."""

    widget = TimeZoneSelect

    def __init__(self, **kwargs):
        super().__init__(choices=[(zone, zone) for zone in TIME_ZONES], **kwargs)

    def valid_value(self, value):
        return is_valid_time_zone(value)
