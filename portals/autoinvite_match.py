""" "Invite existing contacts that match now" (AUT-6), and the retry of failed invitations
(AUT-7): the count and a sample first, then a worker task that hands the contacts to the
engine (portals.autoinvite.auto_invite_contacts) in batches and keeps its progress where the
page polls it. The engine decides each contact exactly once: a contact already a portal user
is skipped and counted."""

import functools
import operator
import uuid
import zoneinfo
from dataclasses import dataclass

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet

from crm_portal.tenancy import TenantTask
from records.conditions import condition_set_q
from records.models import Contact
from records.modules import field_specs
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser, Organization
from users.permissions import require_permission, require_same_org

from .autoinvite import auto_invite_contacts
from .models import AutoInviteRule, Portal

SAMPLE_SIZE = 20
BATCH_SIZE = 200
PROGRESS_SECONDS = 24 * 3600
COUNTS = ("invited", "already", "failed")


@dataclass(frozen=True)
class MatchPreview:
    count: int
    sample: list[Contact]


def _tz(org: Organization):
    try:
        return zoneinfo.ZoneInfo(org.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def rule_q(rule: AutoInviteRule) -> Q:
    """Contacts the rule matches now: the common conditions and one language's."""
    specs, tz = field_specs(rule.org, "contacts"), _tz(rule.org)
    each = [condition_set_q(e.get("conditions", {}), specs=specs, tz=tz) for e in rule.languages]
    # An empty Q is "every contact"; Q's | would drop it rather than let it win.
    if not each:
        languages = Q(pk__in=[])
    elif any(not q for q in each):
        languages = Q()
    else:
        languages = functools.reduce(operator.or_, each)
    return condition_set_q(rule.common_conditions, specs=specs, tz=tz) & languages


def matching_contacts(rule: AutoInviteRule) -> QuerySet:
    """Contacts matching now that are not yet users of the rule's portal."""
    return (
        Contact.objects.filter(org_id=rule.org_id)
        .filter(rule_q(rule))
        .exclude(portal_users__portal_id=rule.portal_id)
    )


def match_preview(rule: AutoInviteRule) -> MatchPreview:
    contacts = matching_contacts(rule)
    return MatchPreview(count=contacts.count(), sample=list(contacts.order_by("pk")[:SAMPLE_SIZE]))


# --- the run and its progress -------------------------------------------------------------------


def _progress_key(portal_id: int) -> str:
    return f"autoinvite-match:{portal_id}"


def match_progress(portal: Portal) -> dict | None:
    """The portal's last run: state ("queued", "running", "done"), total, done and counts."""
    return cache.get(_progress_key(portal.pk))


def match_run_start(
    *, rule: AutoInviteRule, contact_ids: list[int] | None, actor: CrmUser | None
) -> str:
    """Queue a run over `contact_ids` (None: every contact matching now) once the caller's
    transaction commits."""
    run = uuid.uuid4().hex
    state = {"run": run, "state": "queued", "total": None, "done": 0, **dict.fromkeys(COUNTS, 0)}
    cache.set(_progress_key(rule.portal_id), state, PROGRESS_SECONDS)
    args = (rule.org_id, rule.pk, contact_ids, actor.pk if actor else None, run)
    transaction.on_commit(lambda: match_now_task.delay(*args))
    return run


def _add(totals: dict, result) -> None:
    for name in COUNTS:
        value = result.get(name, 0) if isinstance(result, dict) else getattr(result, name, 0)
        totals[name] += int(value or 0)


def match_run(*, rule_id: int, contact_ids: list[int] | None, actor_id: int | None, run: str):
    """The worker's part: the contacts in batches of BATCH_SIZE, the progress after each."""
    rule = AutoInviteRule.objects.select_related("org", "portal").filter(pk=rule_id).first()
    if rule is None:
        return
    actor = CrmUser.objects.filter(org_id=rule.org_id, pk=actor_id).first() if actor_id else None
    if contact_ids is None:  # portal users among them too: the engine skips and counts them
        matching = Contact.objects.filter(org_id=rule.org_id).filter(rule_q(rule))
        contact_ids = list(matching.order_by("pk").values_list("pk", flat=True))
    key = _progress_key(rule.portal_id)
    state = {"run": run, "state": "running", "total": len(contact_ids), "done": 0}
    state.update(dict.fromkeys(COUNTS, 0))
    cache.set(key, state, PROGRESS_SECONDS)
    for start in range(0, len(contact_ids), BATCH_SIZE):
        batch = contact_ids[start : start + BATCH_SIZE]
        _add(state, auto_invite_contacts(rule=rule, contacts_queryset_or_ids=batch, actor=actor))
        state["done"] += len(batch)
        cache.set(key, state, PROGRESS_SECONDS)
    state["state"] = "done"
    cache.set(key, state, PROGRESS_SECONDS)


@shared_task(base=TenantTask, acks_late=True, reject_on_worker_lost=True)
def match_now_task(org_id: int, rule_id: int, contact_ids, actor_id, run: str) -> None:
    match_run(rule_id=rule_id, contact_ids=contact_ids, actor_id=actor_id, run=run)


@transaction.atomic
def rule_match_now(
    *, org: Organization, actor: CrmUser, rule: AutoInviteRule, ip: str | None = None
) -> str:
    """The admin's explicit "invite existing contacts that match now" (AUT-6), audited."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, rule)
    audit_log_write(
        org=org,
        actor=actor,
        action="autoinvite.matched_now",
        ip=ip,
        details={"portal": rule.portal.name},
    )
    return match_run_start(rule=rule, contact_ids=None, actor=actor)
