"""`{% auto_invite_panel record %}`: the contact page's "Portal invitations" panel (AUT-10):
per portal with auto-invite, the verdict and the trace, and the contact's portal status and
invitation history. Shown to members who manage portal users."""

from django import template

from ..explain import auto_invite_explanations

register = template.Library()


@register.inclusion_tag("portals/contact_auto_invite.html", takes_context=True)
def auto_invite_panel(context, contact) -> dict:
    membership, org = context.get("membership"), context.get("org")
    if membership is None or org is None or not membership.can("manage_portal_users"):
        return {"explanations": []}
    return {
        "explanations": auto_invite_explanations(contact=contact, org=org),
        "request": context.get("request"),
    }
