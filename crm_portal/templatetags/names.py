"""`{% person_name obj %}`: a person's name in the viewer's order (X-1) — "山田 太郎" in
Japanese, "Taro Yamada" otherwise. `obj` has first_name and last_name (a contact, a CRM
user); an optional second argument names the language."""

from django import template

from crm_portal.names import person_name as name_in_order

register = template.Library()


@register.simple_tag
def person_name(obj, language=None):
    if obj is None:
        return ""
    first = getattr(obj, "first_name", "") or ""
    last = getattr(obj, "last_name", "") or ""
    return name_in_order(first, last, language)
