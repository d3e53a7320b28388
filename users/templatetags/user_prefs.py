"""Dates and times as the person viewing the page prefers them (USR-6):
`{{ value|user_date }}` and `{{ value|user_datetime }}`."""

from django import template

from users.preferences import format_date, format_datetime

register = template.Library()


@register.filter
def user_date(value):
    return format_date(value)


@register.filter
def user_datetime(value):
    return format_datetime(value)
