"""`{% portal_invite_groups as groups %}`: the org's portals' user groups, for the "Invite to
portal" pickers of the contact page and the contacts list (POR-3)."""

from django import template
from django.conf import settings

from ..forms_users import group_choices

register = template.Library()


@register.simple_tag(takes_context=True)
def portal_invite_groups(context) -> list:
    """[(portal name, [(group pk, group name), …]), …]; empty for a member who may not invite
    or an org without portal groups."""
    membership = context.get("membership")
    org = context.get("org")
    if membership is None or org is None or not membership.can("manage_portal_users"):
        return []
    return group_choices(org)


@register.simple_tag
def portal_languages() -> list:
    return list(settings.LANGUAGES)
