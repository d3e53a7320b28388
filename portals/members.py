"""Portal users (POR-3, POR-4, POR-8): inviting contacts, and what admins do to portal users
one or many at a time (disable, enable, re-invite, change group, delete the unconfirmed), with
the selectors of the portal's Users tab. Each change is audited; every refusal says why."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from crm_portal.search import contains_any
from invitations.models import DeliveryAttempt, Invitation
from invitations.services import invitation_for, invitation_send, membership_lock
from records.models import Contact
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser
from users.permissions import require_permission, require_same_org

from .email_change import email_change_after_enable
from .invitations import KIND
from .models import Portal, PortalUser, UserGroup

UNCONFIRMED = (PortalUser.Status.INVITED, PortalUser.Status.LOGIN_PENDING)
# "All N matching the filter" invites or changes at most this many in one request.
BULK_LIMIT = 1000


# --- selectors ----------------------------------------------------------------------------


def portal_groups_of(org) -> QuerySet[UserGroup]:
    """The user groups of every portal of the org, with their portal: the invite pickers."""
    return (
        UserGroup.objects.filter(org=org)
        .select_related("portal")
        .order_by("portal__name", "portal_id", "name", "pk")
    )


def portal_users_list(
    *, portal: Portal, status: str = "", group: int | None = None, query: str = ""
) -> QuerySet[PortalUser]:
    """The Users tab (POR-4): filtered, with each pending invitation's latest delivery
    attempt of its current send in the same statement."""
    current = DeliveryAttempt.objects.filter(
        invitation_id=OuterRef("invitation_id"),
        send_number=OuterRef("invitation__sent_count"),
    ).order_by("-created_at", "-pk")
    users = (
        PortalUser.objects.filter(portal=portal)
        .select_related("contact", "group", "invitation")
        .annotate(
            delivery_outcome=Subquery(current.values("outcome")[:1]),
            delivery_error=Subquery(current.values("error")[:1]),
        )
    )
    if status in PortalUser.Status.values:
        users = users.filter(status=status)
    if group:
        users = users.filter(group_id=group)
    if query:
        users = users.filter(
            contains_any(["email", "contact__first_name", "contact__last_name"], query)
        )
    return users.order_by("-created_at", "-pk")


def portal_user_counts(portal: Portal) -> dict[str, int]:
    """How many portal users of each status, and all of them (one statement)."""
    rows = PortalUser.objects.filter(portal=portal).values("status").annotate(n=Count("pk"))
    counts = {status: 0 for status in PortalUser.Status.values}
    for row in rows:
        counts[row["status"]] = row["n"]
    counts["all"] = sum(counts.values())
    return counts


def delivery_state(portal_user: PortalUser) -> tuple[str, str]:
    """(state, reason) of a pending invitation's mail (POR-4): queued (no attempt yet), sent,
    retrying, failed, held (org unverified), or what the provider reported since (AUT-9):
    delivered, bounced, rejected, complained; ("", "") when nothing is pending."""
    invitation = portal_user.invitation
    if portal_user.status not in UNCONFIRMED or invitation is None:
        return "", ""
    if invitation.status == Invitation.Status.HELD:
        return "held", ""
    if invitation.status != Invitation.Status.SENT:
        return "", ""
    if invitation.delivery:
        return invitation.delivery, invitation.delivery_detail
    outcome = getattr(portal_user, "delivery_outcome", None)
    if outcome is None:
        return "queued", ""
    return outcome, getattr(portal_user, "delivery_error", "") or ""


# --- inviting -----------------------------------------------------------------------------


def _audit(org, actor, action, portal_user, ip=None, **details):
    audit_log_write(
        org=org,
        actor=actor,
        action=action,
        ip=ip,
        details={
            "email": portal_user.email,
            "portal": portal_user.portal.name,
            "group": portal_user.group.name,
            **details,
        },
    )


def _already_user():
    return ActionRefused(_("This contact is already a user of this portal."))


def _address_taken():
    return ActionRefused(_("This address is already used by another user of this portal."))


@transaction.atomic
def portal_user_invite(
    *,
    actor: CrmUser,
    portal: Portal,
    contact: Contact,
    group: UserGroup,
    language: str = "",
    ip: str | None = None,
) -> PortalUser:
    """POR-3: make the contact a portal user of `portal` in `group` and send the invitation
    in `language` (the contact's if the portal offers it, else the portal's default)."""
    require_permission(actor, permissions.MANAGE_PORTAL_USERS)
    require_same_org(actor.org, portal, contact, group)
    if group.portal_id != portal.pk:
        raise ActionRefused(_("Choose a user group of the portal %(portal)s.") % {"portal": portal})
    email = (contact.email or "").strip()
    if not email:
        raise ActionRefused(
            _("%(name)s has no email address: add one before inviting them.") % {"name": contact}
        )
    users = PortalUser.objects.filter(portal=portal)
    if users.filter(contact=contact).exists():
        raise _already_user()
    if users.filter(Q(email__iexact=email) | Q(pending_email__iexact=email)).exists():
        raise _address_taken()
    language = portal.language_for(language or contact.language or portal.default_language)
    try:
        with transaction.atomic():
            portal_user = PortalUser.objects.create(
                org=portal.org,
                portal=portal,
                contact=contact,
                group=group,
                email=email,
                language=language,
                invited_by=actor,
            )
    except IntegrityError:
        # A concurrent invite won the race: the constraints are the last word (DESIGN:
        # Invitations); say which one.
        if users.filter(contact=contact).exists():
            raise _already_user() from None
        raise _address_taken() from None
    invitation = invitation_for(kind=KIND, membership=portal_user, actor=actor)
    invitation_send(invitation=invitation, actor=actor)
    _audit(portal.org, actor, "portal_user.invited", portal_user, ip=ip, language=language)
    return portal_user


def portal_users_invite_many(
    *,
    actor: CrmUser,
    group: UserGroup,
    contacts: Iterable[Contact],
    ip: str | None = None,
) -> tuple[list[PortalUser], list[tuple[Contact, str]]]:
    """Invite each contact in its own language (POR-3); the ones refused say why, the others
    are invited all the same."""
    require_permission(actor, permissions.MANAGE_PORTAL_USERS)
    contacts = list(contacts)
    if len(contacts) > BULK_LIMIT:
        raise ActionRefused(
            _("At most %(limit)s contacts can be invited at once.") % {"limit": BULK_LIMIT}
        )
    invited, refused = [], []
    for contact in contacts:
        try:
            invited.append(
                portal_user_invite(
                    actor=actor, portal=group.portal, contact=contact, group=group, ip=ip
                )
            )
        except ActionRefused as refusal:
            refused.append((contact, refusal.message))
    return invited, refused


# --- what admins do to portal users (POR-8) -----------------------------------------------


def _checked(actor, portal, portal_users) -> list[PortalUser]:
    require_permission(actor, permissions.MANAGE_PORTAL_USERS)
    portal_users = list(portal_users)
    require_same_org(actor.org, portal, *portal_users)
    if any(p.portal_id != portal.pk for p in portal_users):
        raise ActionRefused(_("Choose users of this portal only."))
    return portal_users


def _names(portal_users) -> str:
    return ", ".join(p.email for p in portal_users)


@transaction.atomic
def portal_users_disable(
    *, actor: CrmUser, portal: Portal, portal_users: Iterable[PortalUser], ip=None
) -> int:
    """Disabled users lose the portal at once: the portal site checks the status on every
    request, and their invitation link shows why it does not work."""
    changed = 0
    for portal_user in _checked(actor, portal, portal_users):
        portal_user = membership_lock(portal_user)
        if portal_user.status == PortalUser.Status.DISABLED:
            continue
        before = portal_user.status
        portal_user.status = PortalUser.Status.DISABLED
        portal_user.save(update_fields=["status", "updated_at"])
        _audit(portal.org, actor, "portal_user.disabled", portal_user, ip=ip, before=before)
        changed += 1
    return changed


def _enabled_status(portal_user: PortalUser) -> str:
    if portal_user.user_id is None:
        return PortalUser.Status.INVITED
    if portal_user.pending_email:
        return PortalUser.Status.LOGIN_PENDING
    return PortalUser.Status.ACTIVE


@transaction.atomic
def portal_users_enable(
    *, actor: CrmUser, portal: Portal, portal_users: Iterable[PortalUser], ip=None
) -> int:
    """Back to where they were: invited if they never accepted, else active (or login
    pending while an address change waits)."""
    changed = 0
    for portal_user in _checked(actor, portal, portal_users):
        portal_user = membership_lock(portal_user)
        if portal_user.status != PortalUser.Status.DISABLED:
            continue
        portal_user.status = _enabled_status(portal_user)
        portal_user.save(update_fields=["status", "updated_at"])
        _audit(portal.org, actor, "portal_user.enabled", portal_user, ip=ip)
        # POR-5: an address change recorded while disabled goes out now.
        email_change_after_enable(portal_user, actor)
        changed += 1
    return changed


@transaction.atomic
def portal_users_reinvite(
    *, actor: CrmUser, portal: Portal, portal_users: Iterable[PortalUser], ip=None
) -> int:
    """A new link for each unconfirmed user (every older link dies: the core's rule). All or
    nothing: an active or disabled user in the selection refuses the request."""
    portal_users = _checked(actor, portal, portal_users)
    others = [p for p in portal_users if p.status not in UNCONFIRMED]
    if others:
        raise ActionRefused(
            _("Only users who have not confirmed yet can be re-invited: %(names)s.")
            % {"names": _names(others)}
        )
    sent = 0
    for portal_user in portal_users:
        portal_user = membership_lock(portal_user)
        if portal_user.user_id and portal_user.pending_email:
            # POR-5: login pending on an address change: the confirmation goes again.
            email_change_after_enable(portal_user, actor)
            sent += 1
            _audit(portal.org, actor, "portal_user.reinvited", portal_user, ip=ip)
            continue
        invitation = invitation_for(kind=KIND, membership=portal_user, actor=actor)
        sent += invitation_send(invitation=invitation, actor=actor)
        _audit(portal.org, actor, "portal_user.reinvited", portal_user, ip=ip)
    return sent


@transaction.atomic
def portal_users_change_group(
    *,
    actor: CrmUser,
    portal: Portal,
    portal_users: Iterable[PortalUser],
    group: UserGroup,
    ip=None,
) -> int:
    portal_users = _checked(actor, portal, portal_users)
    require_same_org(actor.org, group)
    if group.portal_id != portal.pk:
        raise ActionRefused(_("Choose a user group of the portal %(portal)s.") % {"portal": portal})
    changed = 0
    for portal_user in portal_users:
        portal_user = membership_lock(portal_user)
        if portal_user.group_id == group.pk:
            continue
        before = portal_user.group.name
        portal_user.group = group
        portal_user.save(update_fields=["group", "updated_at"])
        _audit(portal.org, actor, "portal_user.group_changed", portal_user, ip=ip, before=before)
        changed += 1
    return changed


def can_delete(portal_user: PortalUser) -> bool:
    """Only who never accepted (no account bound) and is not active may be deleted."""
    return portal_user.user_id is None and portal_user.status != PortalUser.Status.ACTIVE


@transaction.atomic
def portal_users_delete_unconfirmed(
    *, actor: CrmUser, portal: Portal, portal_users: Iterable[PortalUser], ip=None
) -> int:
    """Delete portal users who never accepted, and their invitation (its link dies). All or
    nothing: one who has an account refuses the request; an active one is never deleted."""
    portal_users = [membership_lock(p) for p in _checked(actor, portal, portal_users)]
    kept = [p for p in portal_users if not can_delete(p)]
    if kept:
        raise ActionRefused(
            _("Only users who never accepted their invitation can be deleted: %(names)s.")
            % {"names": _names(kept)}
        )
    for portal_user in portal_users:
        _audit(portal.org, actor, "portal_user.deleted", portal_user, ip=ip)
        invitation_id = portal_user.invitation_id
        portal_user.delete()
        if invitation_id:
            Invitation.objects.filter(pk=invitation_id).delete()
    return len(portal_users)
