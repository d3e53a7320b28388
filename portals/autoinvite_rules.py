"""A portal's auto-invite settings as the CRM edits them (AUT-1 … AUT-3, AUT-6, AUT-11): save,
enable, disable and delete the rule — each checked whole before anything is written, each
audited — and the reads the auto-invite page needs (the rule, the last seven days' counts).
The workers evaluate the rule (portals.autoinvite); this module only keeps it."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from records.conditions import condition_set_clean, condition_set_missing_fields
from records.modules import field_specs
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser, Organization
from users.permissions import require_permission, require_same_org

from .autoinvite import auto_invite_rules_changed
from .config import language_names
from .models import AutoInviteDay, AutoInviteRule, Portal, UserGroup

REMINDER_DAYS_MAX = 60
COUNT_NAMES = ("evaluated", "matched", "sent", "failed", "accepted", "reminded")


@dataclass(frozen=True)
class RuleInput:
    """What the settings form hands the service: plain data, checked by rule_save."""

    trigger: str
    group_id: int | None
    language_mode: str
    common_conditions: dict
    languages: list  # [{"language": code, "conditions": {...}}, ...] in the admin's order
    reminder_enabled: bool = False
    reminder_after_days: int = 5


# --- reads --------------------------------------------------------------------------------------


def rule_of(portal: Portal) -> AutoInviteRule | None:
    return AutoInviteRule.objects.filter(org_id=portal.org_id, portal=portal).first()


def seven_day_counts(portal: Portal, *, today: datetime.date) -> dict[str, int]:
    """The portal's auto-invite counts over the seven days ending `today` (AUT-1)."""
    days = AutoInviteDay.objects.filter(
        org_id=portal.org_id, portal=portal, day__gt=today - datetime.timedelta(days=7)
    ).values_list(*COUNT_NAMES)
    totals = dict.fromkeys(COUNT_NAMES, 0)
    for row in days:
        for name, value in zip(COUNT_NAMES, row, strict=True):
            totals[name] += value
    return totals


# --- checks -------------------------------------------------------------------------------------


def _clean_set(data, specs, field: str, label: str) -> dict:
    try:
        return condition_set_clean(data, specs=specs)
    except ValidationError as error:
        raise ActionRefused(f"{label}: {' '.join(error.messages)}", field=field) from error


def _check_group(org: Organization, portal: Portal, group_id) -> UserGroup:
    group = (
        UserGroup.objects.filter(org=org, portal=portal, pk=group_id).first()
        if isinstance(group_id, int)
        else None
    )
    if group is None:
        raise ActionRefused(_("Choose a user group of this portal."), field="group")
    return group


def _check_languages(portal: Portal, mode: str, languages, specs) -> list[dict]:
    if not isinstance(languages, list) or not languages:
        raise ActionRefused(_("Choose at least one language."), field="languages")
    codes = [entry.get("language") if isinstance(entry, dict) else None for entry in languages]
    if any(code not in portal.languages for code in codes):
        raise ActionRefused(_("Choose languages the portal offers."), field="languages")
    if len(set(codes)) != len(codes):
        raise ActionRefused(_("Each language may appear once."), field="languages")
    if mode == AutoInviteRule.LanguageMode.SINGLE and len(codes) != 1:
        raise ActionRefused(
            _("In one-language mode, choose exactly one language."), field="languages"
        )
    names = dict(zip(codes, language_names(codes), strict=False))
    return [
        {
            "language": code,
            "conditions": _clean_set(
                entry.get("conditions"), specs, f"lang-{code}", names.get(code, code)
            ),
        }
        for code, entry in zip(codes, languages, strict=True)
    ]


def _check(org: Organization, portal: Portal, data: RuleInput) -> dict:
    if data.trigger not in AutoInviteRule.Trigger.values:
        raise ActionRefused(_("Choose when to invite."), field="trigger")
    if data.language_mode not in AutoInviteRule.LanguageMode.values:
        raise ActionRefused(_("Choose a language mode."), field="language_mode")
    days = data.reminder_after_days
    if not isinstance(days, int) or not 1 <= days <= REMINDER_DAYS_MAX:
        message = _("Enter a number of days from 1 to %(max)s.") % {"max": REMINDER_DAYS_MAX}
        raise ActionRefused(message, field="reminder_after_days")
    specs = field_specs(org, "contacts")
    return {
        "trigger": data.trigger,
        "group": _check_group(org, portal, data.group_id),
        "language_mode": data.language_mode,
        "common_conditions": _clean_set(
            data.common_conditions, specs, "common", _("Common conditions")
        ),
        "languages": _check_languages(portal, data.language_mode, data.languages, specs),
        "reminder_enabled": bool(data.reminder_enabled),
        "reminder_after_days": days,
    }


def rule_missing_fields(org: Organization, rule: AutoInviteRule) -> list[str]:
    """Field keys the rule names that no longer exist (a deleted custom field)."""
    specs = field_specs(org, "contacts")
    sets = [rule.common_conditions, *(entry.get("conditions", {}) for entry in rule.languages)]
    return sorted({key for data in sets for key in condition_set_missing_fields(data, specs=specs)})


# --- services -----------------------------------------------------------------------------------


def _audit(org, actor, action, rule_or_portal, ip, **details) -> None:
    portal = getattr(rule_or_portal, "portal", rule_or_portal)
    audit_log_write(
        org=org, actor=actor, action=action, ip=ip, details={"portal": portal.name, **details}
    )


def _changed(org: Organization) -> None:
    transaction.on_commit(lambda: auto_invite_rules_changed(org))


@transaction.atomic
def rule_save(
    *,
    org: Organization,
    actor: CrmUser,
    portal: Portal,
    data: RuleInput,
    ip: str | None = None,
) -> AutoInviteRule:
    """Create or change the portal's rule; ActionRefused (nothing written) when any part is
    wrong. Saving a valid rule clears the reason it was turned off for."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, portal)
    values = _check(org, portal, data)
    rule = AutoInviteRule.objects.select_for_update().filter(org=org, portal=portal).first()
    created = rule is None
    rule = rule or AutoInviteRule(org=org, portal=portal)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.invalid_reason = ""
    rule.updated_by = actor
    rule.save()
    _audit(org, actor, "autoinvite.saved", portal, ip, created=created)
    _changed(org)
    return rule


@transaction.atomic
def rule_enable(
    *, org: Organization, actor: CrmUser, rule: AutoInviteRule, ip: str | None = None
) -> AutoInviteRule:
    """Turn the rule on from now: contacts saved while it was off are not looked at (AUT-6);
    "Invite existing contacts that match now" is the explicit way to reach them."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, rule)
    rule = AutoInviteRule.objects.select_for_update().get(org=org, pk=rule.pk)
    missing = rule_missing_fields(org, rule)
    if missing:
        raise ActionRefused(
            _("The rule names fields that no longer exist (%(fields)s): edit it first.")
            % {"fields": ", ".join(missing)}
        )
    if not rule.is_enabled:
        rule.is_enabled, rule.enabled_at, rule.invalid_reason = True, timezone.now(), ""
        rule.updated_by = actor
        rule.save(update_fields=["is_enabled", "enabled_at", "invalid_reason", "updated_by"])
        _audit(org, actor, "autoinvite.enabled", rule, ip)
        _changed(org)
    return rule


@transaction.atomic
def rule_disable(
    *, org: Organization, actor: CrmUser, rule: AutoInviteRule, ip: str | None = None
) -> AutoInviteRule:
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, rule)
    rule = AutoInviteRule.objects.select_for_update().get(org=org, pk=rule.pk)
    if rule.is_enabled:
        rule.is_enabled, rule.updated_by = False, actor
        rule.save(update_fields=["is_enabled", "updated_by", "updated_at"])
        _audit(org, actor, "autoinvite.disabled", rule, ip)
        _changed(org)
    return rule


@transaction.atomic
def rule_delete(
    *, org: Organization, actor: CrmUser, rule: AutoInviteRule, ip: str | None = None
) -> None:
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, rule)
    _audit(org, actor, "autoinvite.deleted", rule, ip)
    AutoInviteRule.objects.filter(org=org, pk=rule.pk).delete()
    _changed(org)
