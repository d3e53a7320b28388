"""The failed-invitation log of a portal (AUT-7): the filtered, keyset-paged reads its page
and its export use, and the retry of selected rows (re-evaluated by the workers, sent only if
the contact still matches)."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser, Organization
from users.permissions import require_permission, require_same_org

from .autoinvite_match import match_run_start
from .models import AutoInviteRule, FailedInvitation, Portal

PAGE_SIZE = 50
RETRY_MAX = 500  # rows per retry: one page's selection, with room


@dataclass(frozen=True)
class FailedFilter:
    reason: str = ""
    date_from: datetime.date | None = None  # days in the viewer's time zone, both included
    date_to: datetime.date | None = None


def _day_start(day: datetime.date, tz) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def failed_invitations_of(portal: Portal, flt: FailedFilter, *, tz) -> QuerySet:
    rows = FailedInvitation.objects.filter(org_id=portal.org_id, portal=portal)
    if flt.reason:
        rows = rows.filter(reason=flt.reason)
    if flt.date_from:
        rows = rows.filter(failed_at__gte=_day_start(flt.date_from, tz))
    if flt.date_to and flt.date_to < datetime.date.max:
        rows = rows.filter(failed_at__lt=_day_start(flt.date_to + datetime.timedelta(days=1), tz))
    return rows.order_by("-failed_at", "-pk")


def cursor_of(row: FailedInvitation) -> str:
    return f"{row.failed_at.timestamp():.6f}_{row.pk}"


def cursor_parse(text: str) -> tuple[datetime.datetime, int] | None:
    """The (failed_at, pk) a page continues after; None for anything not a cursor of ours."""
    stamp, _sep, pk = (text or "").partition("_")
    try:
        moment = datetime.datetime.fromtimestamp(float(stamp), tz=datetime.UTC)
        number = int(pk)
    except (ValueError, OverflowError, OSError):
        return None
    return (moment, number) if 0 < number < 2**63 else None


def failed_page(rows: QuerySet, cursor: str) -> tuple[list[FailedInvitation], str | None]:
    """One page after `cursor` (newest first) and the next page's cursor, in one query."""
    after = cursor_parse(cursor)
    if after is not None:
        moment, pk = after
        rows = rows.filter(Q(failed_at__lt=moment) | Q(failed_at=moment, pk__lt=pk))
    page = list(rows[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return page, (cursor_of(page[-1]) if more else None)


@transaction.atomic
def failed_invitations_retry(
    *,
    org: Organization,
    actor: CrmUser,
    portal: Portal,
    ids: list[int],
    ip: str | None = None,
) -> int:
    """Mark the selected rows retried and have the workers evaluate their contacts again
    with the portal's rule: those still matching, not yet portal users, are invited."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, portal)
    rule = AutoInviteRule.objects.filter(org=org, portal=portal).first()
    if rule is None:
        raise ActionRefused(_("The portal has no auto-invite settings to retry with."))
    rows = FailedInvitation.objects.filter(org=org, portal=portal, pk__in=ids[:RETRY_MAX])
    contact_ids = sorted({c for c in rows.values_list("contact_id", flat=True) if c})
    if not contact_ids:
        raise ActionRefused(_("Select failed invitations whose contact still exists."))
    count = rows.update(retried_at=timezone.now())
    match_run_start(rule=rule, contact_ids=contact_ids, actor=actor)
    audit_log_write(
        org=org,
        actor=actor,
        action="autoinvite.retried",
        ip=ip,
        details={"portal": portal.name, "count": count},
    )
    return count
