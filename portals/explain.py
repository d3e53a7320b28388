"""Why (not) invited (AUT-10): for a contact and each portal with auto-invite, the verdict and
the trace the worker's decision follows (portals.autoinvite: the same functions), with the
contact's portal status and invitation history. Reads only: a fixed number of queries for a
contact, however many portals the org has."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from records.models import Contact
from records.modules import field_specs

from .autoinvite import Batch, batch_facts, obstacle, org_time_zone, rule_language, rule_trace
from .models import AutoInviteRule, FailedInvitation, Portal, PortalUser

FAILURES_SHOWN = 20


@dataclass
class Explanation:
    portal: Portal
    rule: AutoInviteRule
    verdict: str  # "member", "invitable", "blocked", "not_matched", "rule_off"
    sentence: str
    language: str | None
    trace: dict
    portal_user: PortalUser | None = None
    failures: list = field(default_factory=list)


def explanation_of(batch: Batch, rule, contact, portal_user, failures) -> Explanation:
    values = batch.values_of(contact)
    language = rule_language(rule, values, specs=batch.specs, tz=batch.tz)
    trace = rule_trace(rule, values, specs=batch.specs, tz=batch.tz)
    reason = obstacle(batch, rule, contact, language) if language else None
    if portal_user is not None:
        verdict = "member"
        sentence = _("Already a user of this portal: %(status)s.") % {
            "status": portal_user.get_status_display()
        }
    elif not rule.is_enabled:
        verdict = "rule_off"
        sentence = rule.invalid_reason or _("Auto-invite is turned off for this portal.")
    elif language is None:
        verdict, sentence = "not_matched", _("The conditions do not match: no invitation.")
    elif reason:
        verdict = "blocked"
        sentence = _("The conditions match, but the contact cannot be invited: %(why)s") % {
            "why": FailedInvitation.Reason(reason).label
        }
    else:
        verdict = "invitable"
        sentence = _("The conditions match: the next change of the contact invites them.")
    return Explanation(
        portal=rule.portal,
        rule=rule,
        verdict=verdict,
        sentence=sentence,
        language=language,
        trace=trace,
        portal_user=portal_user,
        failures=failures,
    )


def auto_invite_explanations(*, contact: Contact, org=None, rules=None) -> list[Explanation]:
    """One explanation per portal of the contact's org that has auto-invite settings, enabled
    or not, in the portals' order. Call in the org's scope."""
    org = org or contact.org
    if rules is None:
        rules = list(
            AutoInviteRule.objects.filter(org=org).select_related("portal", "group", "org")
        )
    if not rules:
        return []
    specs, tz = field_specs(org, "contacts"), org_time_zone(org)
    batch = Batch(org=org, specs=specs, tz=tz, now=None, actor=None)
    batch_facts(batch, [(rule, [contact]) for rule in rules])
    users = {
        pu.portal_id: pu
        for pu in PortalUser.objects.filter(contact=contact).select_related("invitation")
    }
    failures: dict[int, list] = {}
    for failure in FailedInvitation.objects.filter(contact=contact)[: FAILURES_SHOWN * 5]:
        failures.setdefault(failure.portal_id, []).append(failure)
    return [
        explanation_of(
            batch,
            rule,
            contact,
            users.get(rule.portal_id),
            failures.get(rule.portal_id, [])[:FAILURES_SHOWN],
        )
        for rule in rules
    ]


def auto_invite_explain(*, contact: Contact, portal: Portal) -> Explanation | None:
    """AUT-10 for one portal: None when the portal has no auto-invite settings."""
    rules = list(
        AutoInviteRule.objects.filter(portal=portal).select_related("portal", "group", "org")
    )
    explained = auto_invite_explanations(contact=contact, rules=rules)
    return explained[0] if explained else None
