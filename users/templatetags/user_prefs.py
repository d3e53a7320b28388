"""Dates and times as the person viewing the page prefers them (USR-6):
`{{ value|user_date }}` and `{{ value|user_datetime }}`; `{{ value|iso_datetime }}` for a
<time datetime="…"> attribute: what `|date:'c'` gives, without its format parsing."""

from django import template
from django.utils.timezone import template_localtime

from users.preferences import format_date, format_datetime

register = template.Library()


@register.filter
def user_date(value):
    return format_date(value)


@register.filter
def user_datetime(value):
    return format_datetime(value)


@register.filter(expects_localtime=True)
def iso_datetime(value):
    if not value:
        return ""
    return template_localtime(value).isoformat()
