"""List pages' template tags (issue 11): sortable column headers and who may be re-invited."""

from django import template
from django.utils.html import format_html
from django.utils.http import urlencode

from crm_portal.countries import country_name
from invitations.crm_users import can_reinvite as member_can_reinvite

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, field: str, label, css_class: str = ""):
    """A <th> whose link sorts the list by `field` (then by its reverse), keeping the
    filters; `aria-sort` tells a screen reader the current order. A field the page's
    whitelist (`sorts`) doesn't hold is a plain header."""
    sorts = context.get("sorts", {})
    current = context.get("sort", "")
    attrs = format_html(' class="{}"', css_class) if css_class else ""
    if field not in sorts:
        return format_html('<th scope="col"{}>{}</th>', attrs, label)
    state, arrow, target = "none", "", field
    if current == field:
        state, arrow = "ascending", "▲"
        target = f"-{field}" if f"-{field}" in sorts else field
    elif current == f"-{field}":
        state, arrow = "descending", "▼"
    keep = context.get("unsorted_querystring", "")
    href = f"?{keep}&{urlencode({'sort': target})}" if keep else f"?{urlencode({'sort': target})}"
    return format_html(
        '<th scope="col" aria-sort="{}"{}><a href="{}" class="sort">{} '
        '<span aria-hidden="true">{}</span></a></th>',
        state,
        attrs,
        href,
        label,
        arrow,
    )


@register.filter
def can_reinvite(member) -> bool:
    return member_can_reinvite(member)


@register.filter(name="country_name")
def country_name_filter(code) -> str:
    """A stored ISO code as the country's name in the viewer's language."""
    return country_name(code or "")
