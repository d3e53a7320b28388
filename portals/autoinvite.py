"""Automatic portal invitations in the workers (AUT-3, AUT-5, AUT-6, AUT-8, AUT-12).

`auto_invite_events_consume` is a record-event consumer (RECORD_EVENT_CONSUMERS): handed one
org's batch of events inside the transaction that marks them done, it loads the org's enabled
rules (cached per org), the batch's contacts in one query, evaluates each rule's common
conditions then its languages in order (first match wins; records.conditions), and creates
the matching contacts' portal users in bulk, waiting for the org's sender. A fixed number of
statements per batch, whatever its size.

Exactly once: the (portal, contact) unique constraint decides, whatever the race — the insert
skips a pair that exists (ON CONFLICT DO NOTHING), and the sender only ever sends to a portal
user it has claimed (SKIP LOCKED) and still finds waiting. A duplicate event, two workers or a
crash between any two steps therefore never sends twice; a crash before the commit leaves the
events pending, so nothing is lost.

Sending (AUT-12) is per org: `auto_invites_send` takes at most AUTO_INVITE_SENDS_PER_MINUTE
waiting portal users of one org a minute, so one org's import of 10,000 never delays another's.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import get_scope, scope, scopes_disabled

from crm_portal.tenancy import TenantTask
from invitations.models import Invitation
from invitations.services import invitation_for, invitation_send, invitations_send_new
from records.conditions import (
    condition_set_compile,
    condition_set_explain,
    condition_set_missing_fields,
    contact_values,
)
from records.models import Contact, RecordEvent
from records.modules import field_specs
from users.models import CrmUser, Organization

from .default_emails import ACCEPT_INVITATION, default_email
from .invitations import KIND
from .models import (
    AutoInviteDay,
    AutoInviteRule,
    EmailTemplate,
    FailedInvitation,
    PortalUser,
)

logger = logging.getLogger(__name__)

RULES_CACHE_SECONDS = 300  # a safety net: every change calls auto_invite_rules_changed
Reason = FailedInvitation.Reason


# --- the org's rules, cached ----------------------------------------------------------------


def rules_cache_key(org_id: int) -> str:
    return f"autoinvite:rules:{org_id}"


def auto_invite_rules_changed(org: Organization) -> None:
    """Call whenever a rule of `org` is saved, enabled, disabled or deleted, or one of its
    portals is turned on or off: the workers read the rules afresh. Forgotten now and again
    once the change commits (a worker may have cached the old rules in between)."""
    key = rules_cache_key(org.pk)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def enabled_rules(org: Organization) -> list[AutoInviteRule]:
    """The org's enabled rules with their portal and group: one query, then from the cache."""
    key = rules_cache_key(org.pk)
    rules = cache.get(key)
    if rules is None:
        rules = list(
            AutoInviteRule.objects.filter(org=org, is_enabled=True)
            .select_related("portal", "group")
            .order_by("pk")
        )
        cache.set(key, rules, RULES_CACHE_SECONDS)
    return rules


def rule_invalidate(rule: AutoInviteRule, missing: list[str], *, org: Organization) -> None:
    """A field the rule names was deleted: turn the rule off with the reason (the portal page
    shows it) rather than fail every event of the org."""
    reason = _("The rule was turned off: it uses fields that no longer exist (%(fields)s).") % {
        "fields": ", ".join(missing)
    }
    AutoInviteRule.objects.filter(pk=rule.pk).update(is_enabled=False, invalid_reason=reason)
    rule.is_enabled, rule.invalid_reason = False, reason
    logger.warning("Auto-invite rule %s turned off: %s", rule.pk, reason)
    auto_invite_rules_changed(org)


# --- evaluation (pure) ----------------------------------------------------------------------


def rule_language(rule: AutoInviteRule, values: dict, *, specs, tz, now=None) -> str | None:
    """AUT-2, AUT-3: the language the contact is invited in — common conditions first, then
    each language's in the admin's order, first match wins; None when nothing matches."""
    return rule_matcher(rule, specs=specs, tz=tz)(values, now or timezone.now())


RuleMatcher = Callable[[dict, datetime], str | None]
_MATCHERS: dict[tuple, RuleMatcher] = {}  # a worker's compiled rules, by what they say


def rule_matcher(rule: AutoInviteRule, *, specs, tz) -> RuleMatcher:
    """rule_language as a function of (values, now), its condition sets compiled once
    (records.conditions.condition_set_compile) per rule content, field registry and time
    zone in this process: the rules come afresh from the cache for every batch."""
    key = (
        rule.pk,
        json.dumps([rule.common_conditions, rule.languages], sort_keys=True, default=str),
        tuple((spec.key, spec.type, spec.custom) for spec in specs),
        str(tz),
    )
    matcher = _MATCHERS.get(key)
    if matcher is None:
        if len(_MATCHERS) > 1000:
            _MATCHERS.clear()
        matcher = _MATCHERS[key] = rule_matcher_compile(rule, specs=specs, tz=tz)
    return matcher


def rule_matcher_compile(rule: AutoInviteRule, *, specs, tz) -> RuleMatcher:
    common = condition_set_compile(rule.common_conditions, specs=specs, tz=tz)
    languages = [
        (
            entry["language"],
            condition_set_compile(entry.get("conditions") or {}, specs=specs, tz=tz),
        )
        for entry in rule.languages
    ]

    def language_of(values: dict, now: datetime) -> str | None:
        if not common(values, now):
            return None
        for language, test in languages:
            if test(values, now):
                return language
        return None

    return language_of


def rule_trace(rule: AutoInviteRule, values: dict, *, specs, tz) -> dict:
    """AUT-10: the same decision, explained — JSON-safe (stored on FailedInvitation.trace).
    The languages' traces stop at the first that matches, as the decision does."""
    common = condition_set_explain(rule.common_conditions, values, specs=specs, tz=tz)
    trace = {"common": common.as_json(), "languages": [], "language": None}
    if not common.result:
        return trace
    for entry in rule.languages:
        explained = condition_set_explain(entry.get("conditions") or {}, values, specs=specs, tz=tz)
        trace["languages"].append({"language": entry["language"], **explained.as_json()})
        if explained.result:
            trace["language"] = entry["language"]
            break
    return trace


def org_time_zone(org: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(org.time_zone)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def email_problem(email: str) -> str | None:
    if not email.strip():
        return Reason.NO_EMAIL
    try:
        validate_email(email)
    except ValidationError:
        return Reason.INVALID_EMAIL
    return None


# --- applying rules to contacts: the batch ---------------------------------------------------


@dataclass
class RuleOutcome:
    """What one rule did with a set of contacts; `failed` and `already` count contacts."""

    evaluated: int = 0
    matched: int = 0
    invited: int = 0
    already: int = 0
    failed: int = 0


@dataclass
class Batch:
    """The facts a batch decides by, each read in one query for all its rules and contacts."""

    org: Organization
    specs: list
    tz: ZoneInfo
    now: datetime
    actor: CrmUser | None
    existing: set = field(default_factory=set)  # (portal id, contact id)
    taken: set = field(default_factory=set)  # (portal id, lower-case email)
    templates: set = field(default_factory=set)  # (portal id, language, group id or None)
    values: dict = field(default_factory=dict)  # contact id -> its values (contact_values)
    new_users: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def values_of(self, contact: Contact) -> dict:
        if contact.pk not in self.values:
            self.values[contact.pk] = contact_values(contact, self.specs)
        return self.values[contact.pk]


def batch_facts(batch: Batch, plan: list[tuple[AutoInviteRule, list[Contact]]]) -> None:
    portal_ids = {rule.portal_id for rule, _contacts in plan}
    contact_ids = {contact.pk for _rule, contacts in plan for contact in contacts}
    emails = {c.email.lower() for _rule, contacts in plan for c in contacts if c.email}
    batch.existing = set(
        PortalUser.objects.filter(portal_id__in=portal_ids, contact_id__in=contact_ids).values_list(
            "portal_id", "contact_id"
        )
    )
    batch.taken = set(
        PortalUser.objects.annotate(address=Lower("email"))
        .filter(portal_id__in=portal_ids, address__in=emails)
        .values_list("portal_id", "address")
    )
    batch.templates = set(
        EmailTemplate.objects.filter(portal_id__in=portal_ids, kind=ACCEPT_INVITATION).values_list(
            "portal_id", "language", "group_id"
        )
    )


def has_template(batch: Batch, rule: AutoInviteRule, language: str) -> bool:
    """AUT-5: the language's Accept invitation email exists — the portal offers the language
    and has its own template in it (the group's or the portal's) or we ship one."""
    if not rule.portal.offers(language):
        return False
    own = {(rule.portal_id, language, rule.group_id), (rule.portal_id, language, None)}
    return bool(own & batch.templates) or default_email(ACCEPT_INVITATION, language) is not None


def obstacle(batch: Batch, rule: AutoInviteRule, contact: Contact, language: str) -> str | None:
    """Why a matching contact cannot be invited (AUT-7's reasons), or None."""
    if not rule.portal.is_enabled:
        return Reason.PORTAL_DISABLED
    if not batch.org.is_verified:
        return Reason.ORG_NOT_VERIFIED
    problem = email_problem(contact.email)
    if problem:
        return problem
    if (rule.portal_id, contact.email.lower()) in batch.taken:
        return Reason.ADDRESS_TAKEN
    if not has_template(batch, rule, language):
        return Reason.NO_TEMPLATE
    return None


def rule_apply(batch: Batch, rule: AutoInviteRule, contacts: list[Contact]) -> RuleOutcome:
    outcome = RuleOutcome()
    matcher = rule_matcher(rule, specs=batch.specs, tz=batch.tz)
    for contact in contacts:
        outcome.evaluated += 1
        if (rule.portal_id, contact.pk) in batch.existing:
            outcome.already += 1
            continue
        language = matcher(batch.values_of(contact), batch.now)
        if language is None:
            continue
        outcome.matched += 1
        reason = obstacle(batch, rule, contact, language)
        if reason:
            outcome.failed += 1
            batch.failures.append(failure_of(batch, rule, contact, language, reason))
            continue
        outcome.invited += 1
        batch.existing.add((rule.portal_id, contact.pk))
        batch.taken.add((rule.portal_id, contact.email.lower()))
        batch.new_users.append(new_portal_user(batch, rule, contact, language))
    return outcome


def new_portal_user(batch: Batch, rule, contact: Contact, language: str) -> tuple:
    """A waiting portal user as the row portal_users_insert writes (no model instance: a
    batch of 100 events makes up to 1,000 of them)."""
    return (rule.portal_id, contact.pk, rule.group_id, contact.email, language)


def portal_users_insert(batch: Batch) -> int:
    """The batch's new waiting portal users in ONE statement, INSERT … SELECT FROM unnest(…)
    ON CONFLICT DO NOTHING: a pair (portal, contact) or (portal, address) that exists — made
    by another worker meanwhile — is skipped by the unique constraints, never inserted twice.
    Returns how many were inserted."""
    if not batch.new_users:
        return 0
    if connection.vendor != "postgresql":  # SQLite: the ORM's bulk insert, the same rule
        PortalUser.objects.bulk_create(
            [
                PortalUser(
                    org=batch.org,
                    portal_id=portal_id,
                    contact_id=contact_id,
                    group_id=group_id,
                    email=email,
                    language=language,
                    status=PortalUser.Status.INVITED,
                    invited_by=batch.actor,
                    auto_invited_at=batch.now,
                    auto_invite_waiting=True,
                )
                for portal_id, contact_id, group_id, email, language in batch.new_users
            ],
            ignore_conflicts=True,
        )
        return len(batch.new_users)
    columns = zip(*batch.new_users, strict=True)
    portal_ids, contact_ids, group_ids, emails, languages = map(list, columns)
    table = PortalUser._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (org_id, portal_id, contact_id, group_id, email, pending_email,"
            " language, status, invited_by_id, auto_invited_at, auto_invite_waiting,"
            " created_at, updated_at)"
            " SELECT %s, p, c, g, e, '', l, %s, %s, %s, true, %s, %s"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::text[])"
            " AS v(p, c, g, e, l) ON CONFLICT DO NOTHING",
            [
                batch.org.pk,
                PortalUser.Status.INVITED,
                batch.actor.pk if batch.actor else None,
                batch.now,
                batch.now,
                batch.now,
                portal_ids,
                contact_ids,
                group_ids,
                emails,
                languages,
            ],
        )
        return cursor.rowcount


def failure_of(batch: Batch, rule, contact: Contact, language: str, reason: str):
    trace = rule_trace(rule, batch.values_of(contact), specs=batch.specs, tz=batch.tz)
    return FailedInvitation(
        org=batch.org,
        portal=rule.portal,
        contact=contact,
        record_name=str(contact)[:300],
        email=contact.email[:254],
        language=language,
        reason=reason,
        trace=trace,
    )


def rules_apply(
    *,
    org: Organization,
    plan: list[tuple[AutoInviteRule, list[Contact]]],
    now: datetime | None = None,
    actor: CrmUser | None = None,
) -> dict[int, RuleOutcome]:
    """Apply each rule to its contacts, in one go: the facts in three queries, the new portal
    users in one INSERT … ON CONFLICT DO NOTHING, the failures in one INSERT, the day's counts
    in one upsert. A rule naming a deleted field is turned off instead. Returns the outcome by
    rule id. Runs in the caller's transaction."""
    batch = Batch(
        org=org,
        specs=field_specs(org, "contacts"),
        tz=org_time_zone(org),
        now=now or timezone.now(),
        actor=actor,
    )
    plan = [(rule, contacts) for rule, contacts in plan if contacts and rule_is_valid(batch, rule)]
    if not plan:
        return {}
    batch_facts(batch, plan)
    outcomes = {rule.pk: rule_apply(batch, rule, contacts) for rule, contacts in plan}
    portal_users_insert(batch)
    FailedInvitation.objects.bulk_create(batch.failures)
    auto_invite_days_count(
        org=org,
        now=batch.now,
        counts={
            rule.portal_id: {
                "evaluated": outcomes[rule.pk].evaluated,
                "matched": outcomes[rule.pk].matched,
                "failed": outcomes[rule.pk].failed,
            }
            for rule, _contacts in plan
        },
    )
    return outcomes


def rule_is_valid(batch: Batch, rule: AutoInviteRule) -> bool:
    sets = [rule.common_conditions, *(e.get("conditions") or {} for e in rule.languages)]
    missing = sorted(
        {key for data in sets for key in condition_set_missing_fields(data, specs=batch.specs)}
    )
    if missing:
        rule_invalidate(rule, missing, org=batch.org)
    return not missing


COUNTERS = ("evaluated", "matched", "sent", "failed", "accepted", "reminded")


def auto_invite_days_count(
    *, org: Organization, counts: dict[int, dict[str, int]], now: datetime | None = None
) -> None:
    """Add `counts` ({portal id: {"sent": 3, …}}) to each portal's counts of today (the org's
    time zone): one upsert for every portal, safe under concurrent workers."""
    rows = [(pid, c) for pid, c in counts.items() if any(c.values())]
    if not rows:
        return
    day = timezone.localtime(now or timezone.now(), org_time_zone(org)).date()
    table = AutoInviteDay._meta.db_table
    columns = ", ".join(COUNTERS)
    values = ", ".join(["(%s, %s, %s" + ", %s" * len(COUNTERS) + ")"] * len(rows))
    params = [
        v for pid, c in rows for v in (org.pk, pid, day, *(c.get(name, 0) for name in COUNTERS))
    ]
    updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in COUNTERS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (org_id, portal_id, day, {columns}) VALUES {values} "
            f"ON CONFLICT (portal_id, day) DO UPDATE SET {updates}",
            params,
        )


# --- the record-event consumer ----------------------------------------------------------------


def org_of(events: list[RecordEvent]) -> Organization:
    """The batch's org: the task's scope holds it already (no query)."""
    org = get_scope().get("org")
    if isinstance(org, Organization) and org.pk == events[0].org_id:
        return org
    with scopes_disabled():
        return Organization.objects.get(pk=events[0].org_id)


def events_for(rule: AutoInviteRule, events: list[RecordEvent]) -> list[int]:
    """The contacts whose events fit the rule's trigger and came after it was (re-)enabled
    (AUT-6: no replay), each once."""
    ids = dict.fromkeys(
        event.record_id
        for event in events
        if event.module == "contacts"
        and rule.fires_on(event.kind)
        and (rule.enabled_at is None or event.created_at >= rule.enabled_at)
    )
    return list(ids)


def auto_invite_events_consume(events: list[RecordEvent]) -> None:
    """The consumer (RECORD_EVENT_CONSUMERS): evaluate one org's batch of record events against
    its enabled rules, in the transaction that marks them done; the sender is woken once it
    commits when portal users wait."""
    if not events:
        return
    org = org_of(events)
    rules = enabled_rules(org)
    wanted = {rule.pk: events_for(rule, events) for rule in rules}
    contact_ids = {pk for ids in wanted.values() for pk in ids}
    if not contact_ids:
        return
    contacts = Contact.objects.in_bulk(contact_ids)
    plan = [(rule, [contacts[pk] for pk in wanted[rule.pk] if pk in contacts]) for rule in rules]
    outcomes = rules_apply(org=org, plan=plan)
    if any(outcome.invited for outcome in outcomes.values()):
        transaction.on_commit(lambda: auto_invites_sender_wake(org.pk))


# --- "invite existing records that match now" and the failed log's retry (AUT-6, AUT-7) ------

CONTACTS_PER_BATCH = 500


@dataclass
class InviteCounts:
    invited: int = 0
    already: int = 0
    failed: int = 0
    not_matched: int = 0


def auto_invite_contacts(
    *, rule: AutoInviteRule, contacts_queryset_or_ids, actor: CrmUser | None = None
) -> InviteCounts:
    """Apply `rule` to these contacts now, whatever its trigger and enabled_at (the admin asked
    for it): matching ones become waiting portal users, contacts already users of the portal
    are skipped and counted, failures are logged. Batches of CONTACTS_PER_BATCH, each its own
    transaction; exactly once like the worker (the same path). Call in the org's scope."""
    ids = list(
        contacts_queryset_or_ids.values_list("pk", flat=True)
        if hasattr(contacts_queryset_or_ids, "values_list")
        else contacts_queryset_or_ids
    )
    counts = InviteCounts()
    for start in range(0, len(ids), CONTACTS_PER_BATCH):
        chunk = ids[start : start + CONTACTS_PER_BATCH]
        with transaction.atomic():
            contacts = list(
                Contact.objects.filter(org=rule.org_id, pk__in=chunk).select_related("account")
            )
            outcome = rules_apply(org=rule.org, plan=[(rule, contacts)], actor=actor).get(
                rule.pk, RuleOutcome(evaluated=len(contacts))
            )
        counts.invited += outcome.invited
        counts.already += outcome.already
        counts.failed += outcome.failed
        counts.not_matched += outcome.evaluated - outcome.matched - outcome.already
    if counts.invited:
        transaction.on_commit(lambda: auto_invites_sender_wake(rule.org_id))
    return counts


# --- the per-org sender (AUT-12) ----------------------------------------------------------------


def sender_lock(org: Organization) -> bool:
    """One sender per org at a time (a transaction-scoped advisory lock; other databases run
    one worker): a second one finds the lock taken and leaves."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [0x41555431, org.pk])
        return cursor.fetchone()[0]


def sent_last_minute(org: Organization, now: datetime) -> int:
    return PortalUser.objects.filter(
        org=org,
        auto_invited_at__isnull=False,
        auto_invite_waiting=False,
        invitation__last_sent_at__gt=now - timedelta(minutes=1),
    ).count()


def auto_invites_send(*, org: Organization, now: datetime | None = None) -> int:
    """Send the invitations of the org's waiting auto-invited portal users, oldest first, at
    most AUTO_INVITE_SENDS_PER_MINUTE in any minute; returns how many were sent. Each portal
    user is claimed (SKIP LOCKED) and no longer waits once its invitation is queued, in one
    transaction: two senders, or a sender run twice, never send one invitation twice."""
    now = now or timezone.now()
    with transaction.atomic():
        if not sender_lock(org):
            return 0
        budget = settings.AUTO_INVITE_SENDS_PER_MINUTE - sent_last_minute(org, now)
        if budget <= 0:
            return 0
        waiting = list(
            PortalUser.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(org=org, auto_invite_waiting=True)
            .select_related("portal__org", "group", "contact", "org")
            .order_by("auto_invited_at", "pk")[:budget]
        )
        sent = defaultdict(lambda: defaultdict(int))
        fresh = [pu for pu in waiting if auto_invite_sendable_in_bulk(pu)]
        invitations_send_new(kind=KIND, memberships=fresh)
        for portal_user in fresh:
            sent[portal_user.portal_id]["sent"] += 1
        failed = [pu for pu in waiting if not pu.portal.is_enabled]
        FailedInvitation.objects.bulk_create(map(portal_disabled_failure, failed))
        for portal_user in failed:
            sent[portal_user.portal_id]["failed"] += 1
        handled = {pu.pk for pu in fresh} | {pu.pk for pu in failed}
        for portal_user in waiting:  # the rare rest (an admin invited meanwhile): one by one
            if portal_user.pk not in handled:
                outcome = auto_invite_send_one(portal_user)
                sent[portal_user.portal_id][outcome] += 1
        PortalUser.objects.filter(pk__in=[pu.pk for pu in waiting]).update(
            auto_invite_waiting=False
        )
        auto_invite_days_count(org=org, counts=sent, now=now)
    return sum(counts["sent"] for counts in sent.values())


def auto_invite_sendable_in_bulk(portal_user: PortalUser) -> bool:
    """The common case, sent in bulk (invitations_send_new): the portal is on, the org
    verified, and the portal user has no invitation yet."""
    return (
        portal_user.portal.is_enabled
        and portal_user.org.is_verified
        and portal_user.invitation_id is None
    )


def portal_disabled_failure(portal_user: PortalUser) -> FailedInvitation:
    return FailedInvitation(
        org=portal_user.org,
        portal=portal_user.portal,
        contact=portal_user.contact,
        record_name=str(portal_user.contact)[:300],
        email=portal_user.email,
        language=portal_user.language,
        reason=Reason.PORTAL_DISABLED,
    )


def auto_invite_send_one(portal_user: PortalUser) -> str:
    """ "sent", "held" (the org is not verified: the core holds it) or "failed" (the portal was
    turned off meanwhile: logged)."""
    if not portal_user.portal.is_enabled:
        portal_disabled_failure(portal_user).save()
        return "failed"
    invitation = invitation_for(kind=KIND, membership=portal_user, actor=portal_user.invited_by)
    if invitation.status == Invitation.Status.SENT:
        return "held"  # sent already (by an admin meanwhile): never twice
    return "sent" if invitation_send(invitation=invitation, actor=None) else "held"


def orgs_with_waiting_invitations() -> list[int]:
    with scopes_disabled():
        return list(
            PortalUser.objects.filter(auto_invite_waiting=True)
            .values_list("org_id", flat=True)
            .distinct()
            .order_by("org_id")
        )


# A sender task queued for the org and not started yet: the next batch need not queue one.
# A queued task lost with the broker's data holds the next ones back at most this long (and
# the sweep, every AUTO_INVITE_SEND_SWEEP_SECONDS, queues one whatever the mark); a task still
# queued after it only gets a second one beside it, which finds nothing left or the lock taken.
SENDER_QUEUED_SECONDS = 5


def sender_queued_key(org_id: int) -> str:
    return f"autoinvite:sender-queued:{org_id}"


def auto_invites_sender_wake(org_id: int) -> None:
    """Queue the org's sender, unless one is queued already and has not started: it will
    see these portal users too (it forgets the mark before it reads who waits). Under a
    steady stream of small evaluation batches this is one sender task at a time, not one a
    batch, each queued behind the next."""
    if cache.add(sender_queued_key(org_id), 1, SENDER_QUEUED_SECONDS):
        send_auto_invites_task.delay(org_id)


@shared_task(base=TenantTask, name="portals.tasks.send_auto_invites_task", acks_late=True)
def send_auto_invites_task(org_id: int) -> int:
    cache.delete(sender_queued_key(org_id))
    return auto_invites_send(org=get_scope()["org"])


@shared_task(name="portals.tasks.auto_invite_send_sweep_task")
def auto_invite_send_sweep_task() -> int:
    """Beat (AUT-12): one sender task per org with waiting invitations — each org its own
    task and its own rate, so one org's backlog never holds another's invitations."""
    org_ids = orgs_with_waiting_invitations()
    for org_id in org_ids:
        send_auto_invites_task.delay(org_id)
    return len(org_ids)


# --- reminders (AUT-11) ---------------------------------------------------------------------


def auto_invite_reminders_send(*, now: datetime | None = None) -> int:
    """One reminder with a fresh link (the re-send kills the old one) to each auto-invited
    portal user still not accepted `reminder_after_days` after the invitation, for rules with
    reminders on; never a second: reminded_at is set in the same transaction, and a portal user
    is claimed with SKIP LOCKED. Returns how many were sent, every org together."""
    now = now or timezone.now()
    with scopes_disabled():
        rules = list(
            AutoInviteRule.objects.filter(is_enabled=True, reminder_enabled=True).select_related(
                "org", "portal"
            )
        )
    reminded = 0
    for rule in rules:
        with scope(org=rule.org):
            reminded += rule_reminders_send(rule=rule, now=now)
    return reminded


def rule_reminders_send(*, rule: AutoInviteRule, now: datetime) -> int:
    if not rule.portal.is_enabled:
        return 0
    due = now - timedelta(days=rule.reminder_after_days)
    with transaction.atomic():
        portal_users = list(
            PortalUser.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                portal=rule.portal,
                auto_invited_at__isnull=False,
                auto_invite_waiting=False,
                reminded_at__isnull=True,
                status=PortalUser.Status.INVITED,
                invitation__status=Invitation.Status.SENT,
                invitation__last_sent_at__lte=due,
            )
            .select_related("invitation", "org", "portal", "group", "contact")
        )
        sent = sum(invitation_send(invitation=pu.invitation, actor=None) for pu in portal_users)
        PortalUser.objects.filter(pk__in=[pu.pk for pu in portal_users]).update(reminded_at=now)
        auto_invite_days_count(org=rule.org, counts={rule.portal_id: {"reminded": sent}}, now=now)
    return sent


@shared_task(name="portals.tasks.auto_invite_reminders_task")
def auto_invite_reminders_task() -> int:
    return auto_invite_reminders_send()
