"""USR-6: dates and times show in the viewer's chosen format. The fast formatter list pages
use must give exactly what Django's dateformat gives, for every format a user can choose,
in every language, at every hour and month."""

import datetime
import zoneinfo

import pytest
from django.utils import dateformat, translation

from users.preferences import ALL_DATE_FORMATS, TIME_FORMATS, date_format_fast

MOMENTS = [
    datetime.datetime(year, month, day, hour, minute, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    for year, month, day in [(2026, 1, 1), (2026, 5, 9), (1999, 12, 31), (2031, 9, 30)]
    for hour, minute in [(0, 0), (0, 5), (11, 59), (12, 0), (13, 30), (23, 59)]
] + [datetime.datetime(2026, month, 15, 9, 7) for month in range(1, 13)]


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("fmt", sorted(ALL_DATE_FORMATS | set(TIME_FORMATS.values())))
def test_usr6_fast_date_format_is_djangos(language, fmt):
    with translation.override(language):
        for moment in MOMENTS:
            assert date_format_fast(moment, fmt) == dateformat.format(moment, fmt), (fmt, moment)
            if fmt not in TIME_FORMATS.values():
                day = moment.date()
                assert date_format_fast(day, fmt) == dateformat.format(day, fmt)


@pytest.mark.parametrize("fmt", [r"\Y Y", "D, j M Y", "c", "N j"])
def test_usr6_other_formats_go_to_django(fmt):
    """An escape or a field the fast path doesn't know is formatted by dateformat itself."""
    moment = datetime.datetime(2026, 3, 4, 15, 6, tzinfo=datetime.UTC)
    assert date_format_fast(moment, fmt) == dateformat.format(moment, fmt)


def test_usr6_a_time_field_for_a_date_is_refused_as_django_refuses_it():
    with pytest.raises(TypeError):
        date_format_fast(datetime.date(2026, 3, 4), "Y-m-d H:i")


def test_usr6_iso_datetime_is_what_date_c_gives_in_the_current_zone():
    from django.template import Context, Template
    from django.utils import timezone

    moment = datetime.datetime(2026, 3, 4, 23, 6, 7, 123456, tzinfo=datetime.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        theirs = Template("{{ v|date:'c' }}").render(Context({"v": moment}))
        ours = Template("{% load user_prefs %}{{ v|iso_datetime }}").render(Context({"v": moment}))
    assert ours == theirs == "2026-03-05T08:06:07.123456+09:00"
    assert Template("{% load user_prefs %}{{ v|iso_datetime }}").render(Context({"v": None})) == ""
