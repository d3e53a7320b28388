"""Every status a Campaigns team member can have and every way between them (CAM-3), in ONE
map: each service names the action it performs and `transition` says where it leads, or
refuses it with a sentence in the user's language. Nothing else decides a status."""

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_portal.exceptions import ActionRefused


class Status(models.TextChoices):
    INVITED = "invited", gettext_lazy("Invited")
    ASSOCIATED = "associated", gettext_lazy("Associated")
    ACTIVE = "active", gettext_lazy("Active")
    DEACTIVATED = "deactivated", gettext_lazy("Deactivated")
    DECLINED = "declined", gettext_lazy("Declined")
    EXPIRED = "expired", gettext_lazy("Expired")
    REMOVED = "removed", gettext_lazy("Removed")


S = Status
# action → (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    # A new address starts Invited; an address whose invitation ended may be invited again.
    "invite": (frozenset({S.DECLINED, S.EXPIRED, S.REMOVED}), S.INVITED),
    "resend": (frozenset({S.INVITED}), S.INVITED),
    "retarget": (frozenset({S.INVITED}), S.INVITED),  # CAM-9
    "accept": (frozenset({S.INVITED}), S.ASSOCIATED),
    "decline": (frozenset({S.INVITED}), S.DECLINED),  # CAM-4
    "expire": (frozenset({S.INVITED}), S.EXPIRED),
    "first_visit": (frozenset({S.ASSOCIATED}), S.ACTIVE),
    "deactivate": (frozenset({S.ASSOCIATED, S.ACTIVE}), S.DEACTIVATED),  # CAM-6
    "reactivate": (frozenset({S.DEACTIVATED}), S.ACTIVE),
    "remove": (frozenset({S.INVITED, S.ASSOCIATED, S.ACTIVE, S.DEACTIVATED}), S.REMOVED),
    "leave": (frozenset({S.ASSOCIATED, S.ACTIVE}), S.REMOVED),
    "delete_account": (frozenset({S.ASSOCIATED, S.ACTIVE}), S.REMOVED),  # CAM-8
}

# Who holds a seat of the team limit (CAM-2) and who may use the Campaigns area.
SEATED = frozenset({S.INVITED, S.ASSOCIATED, S.ACTIVE, S.DEACTIVATED})
IN_TEAM = frozenset({S.ASSOCIATED, S.ACTIVE})


def can(action: str, status: str) -> bool:
    sources, _target = TRANSITIONS[action]
    return status in sources


def transition(action: str, status: str) -> str:
    """The status `action` leads to from `status`; ActionRefused when the map has no such way."""
    if not can(action, status):
        raise ActionRefused(
            _("This can't be done while the member is %(status)s.")
            % {"status": Status(status).label.lower()}
        )
    return TRANSITIONS[action][1]
