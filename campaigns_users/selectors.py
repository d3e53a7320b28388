"""Reads of the Campaigns team (CAM-1 … CAM-6), each through the org."""

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from users.models import CrmUser, Organization

from .models import MAX_DECLINES, MAX_SENDS, CampaignAddress, CampaignMember, CampaignRole
from .statuses import IN_TEAM, SEATED, Status


def team_limit(org: Organization) -> int:
    """CAM-2: seats in the org's Campaigns team, a plan setting (per plan, else the default)."""
    limits = settings.CAMPAIGNS_TEAM_LIMITS
    return int(limits.get(org.plan, settings.CAMPAIGNS_TEAM_LIMIT))


def seats_used(org: Organization) -> int:
    return CampaignMember.objects.filter(org=org, status__in=SEATED).count()


def status_counts(org: Organization) -> dict[str, int]:
    rows = CampaignMember.objects.filter(org=org).values_list("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(Status.values, 0) | dict(rows)
    counts["all"] = sum(counts[s] for s in Status.values)
    return counts


def members_list(*, org: Organization, status: str | None = None):
    members = CampaignMember.objects.filter(org=org).select_related("role", "invitation")
    return members.filter(status=status) if status else members


def member_of(*, org: Organization, user) -> CampaignMember | None:
    """The account's place in the org's team, whatever its status."""
    if user is None or not user.is_authenticated:
        return None
    return CampaignMember.objects.filter(org=org, user=user).select_related("role").first()


def member_for_address(*, org: Organization, email: str) -> CampaignMember | None:
    return CampaignMember.objects.filter(org=org, email__iexact=email.strip()).first()


def team_of_elsewhere(*, user, org: Organization) -> CampaignMember | None:
    """CAM-5: the account's membership of another org's team, while it is in that team."""
    with scopes_disabled():
        return (
            CampaignMember.objects.select_related("org")
            .filter(user=user, status__in=IN_TEAM)
            .exclude(org=org)
            .first()
        )


def admins_in_team(org: Organization) -> list[CampaignMember]:
    members = CampaignMember.objects.filter(org=org, status__in=IN_TEAM).select_related("role")
    return [m for m in members if m.role.is_admin]


def roles_of(org: Organization):
    return CampaignRole.objects.filter(org=org)


def block_reason(member: CampaignMember | None) -> str:
    """CAM-4: why this member's address may not be invited again, as a sentence; "" when it
    may. Reads the member's copy of its address's counts (the members page, no extra query);
    the services decide on the address's history, address_block_reason."""
    if member is None:
        return ""
    return reason_for(member.email, sends=member.send_count, declines=member.decline_count)


def address_history(*, org: Organization, email: str, lock: bool = False):
    """CAM-4: the address's CampaignAddress in the org, None before its first send."""
    history = CampaignAddress.objects.filter(org=org, email=email.strip().lower())
    return (history.select_for_update() if lock else history).first()


def address_block_reason(*, org: Organization, email: str, lock: bool = False) -> str:
    """CAM-4: why the address may not be invited (or re-targeted to) in the org, whatever
    member row carried it before; "" when it may."""
    history = address_history(org=org, email=email, lock=lock)
    if history is None:
        return ""
    return reason_for(email.strip().lower(), sends=history.sends, declines=history.declines)


def reason_for(email: str, *, sends: int, declines: int) -> str:
    if declines >= MAX_DECLINES:
        return _(
            "%(email)s declined our invitation twice, so it can't be invited again. "
            "Ask the operator to lift the block if the person asks to join."
        ) % {"email": email}
    if sends >= MAX_SENDS:
        return _(
            "An invitation was already sent twice to %(email)s without being accepted, so it "
            "can't be sent again. Ask the operator to lift the block if the person asks to join."
        ) % {"email": email}
    return ""


def crm_user_campaigns_panel(membership: CrmUser) -> tuple[str, dict] | None:
    """Point 10: the CRM user's place in the org's Campaigns team, for their detail page
    (listed in CRM_USER_DETAIL_PANELS)."""
    member = None
    if membership.user_id:
        member = (
            CampaignMember.objects.filter(org=membership.org, user_id=membership.user_id)
            .select_related("role")
            .first()
        )
    if member is None:
        member = (
            CampaignMember.objects.filter(org=membership.org, email__iexact=membership.email)
            .select_related("role")
            .first()
        )
    return "campaigns_users/_crm_user_panel.html", {"campaign_member": member}


def campaigns_area_org(*, user, org_slug: str, url_name: str) -> Organization | None:
    """TENANT_AREA_GUESTS: a member of the org's Campaigns team who is no CRM user of the org
    may open the Campaigns area — and nothing else of the org (issue 15, CAM-3)."""
    if not url_name.startswith("campaigns_") or not user.is_authenticated:
        return None
    with scopes_disabled():
        member = (
            CampaignMember.objects.select_related("org")
            .filter(org__slug=org_slug, user=user, status__in=IN_TEAM)
            .first()
        )
    return member.org if member else None
