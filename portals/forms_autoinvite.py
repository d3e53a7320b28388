"""The auto-invite settings form and its condition builder (AUT-1 … AUT-4, AUT-11).

The builder is plain form data, so the page works as one form and htmx only re-renders it:
a condition set named `<set>` ("common", or "lang-<code>") posts `<set>-count`,
`<set>-pattern` and, per row i, `<set>-<i>-field`, `<set>-<i>-op`, `<set>-<i>-value`
(repeated for a choice list) and `<set>-<i>-value2` (the second of a pair). The languages
post `language` once each, in the admin's order, and `lang-<code>-use` when chosen."""

import dataclasses
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from records.conditions import OPERATORS, operators_for, value_kind
from records.fields import FieldSpec

from .autoinvite_rules import REMINDER_DAYS_MAX, RuleInput
from .config import language_names
from .failed_invitations import FailedFilter
from .models import AutoInviteRule, FailedInvitation, Portal

MAX_ROWS = 50  # per condition set: a bigger posted count is cut here
PAIR_KINDS = {"number_pair", "date_pair"}


class RuleForm(forms.Form):
    trigger = forms.ChoiceField(label=_("Invite"), choices=AutoInviteRule.Trigger.choices)
    group = forms.TypedChoiceField(label=_("User group"), coerce=int)
    language_mode = forms.ChoiceField(
        label=_("Languages"),
        choices=AutoInviteRule.LanguageMode.choices,
        widget=forms.RadioSelect,
    )
    reminder_enabled = forms.BooleanField(
        label=_("Send one reminder if the invitation is not accepted"), required=False
    )
    reminder_after_days = forms.IntegerField(
        label=_("Remind after (days)"), min_value=1, max_value=REMINDER_DAYS_MAX, initial=5
    )

    def __init__(self, *args, portal: Portal, groups, rule: AutoInviteRule | None, **kwargs):
        if rule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "trigger": rule.trigger,
                    "group": rule.group_id,
                    "language_mode": rule.language_mode,
                    "reminder_enabled": rule.reminder_enabled,
                    "reminder_after_days": rule.reminder_after_days,
                },
            )
        else:
            kwargs.setdefault("initial", {"trigger": "both", "language_mode": "single"})
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "—")] + [(g.pk, g.name) for g in groups]

    def rule_input(self, draft: "RuleDraft", specs: list[FieldSpec]) -> RuleInput:
        data = self.cleaned_data
        return RuleInput(
            trigger=data["trigger"],
            group_id=data["group"],
            language_mode=data["language_mode"],
            common_conditions=draft.common.as_data(specs),
            languages=[
                {"language": block.code, "conditions": block.conditions.as_data(specs)}
                for block in draft.languages
                if block.used
            ],
            reminder_enabled=data["reminder_enabled"],
            reminder_after_days=data["reminder_after_days"],
        )


# --- the builder's draft: what the page shows, from the rule or from the posted form -----------


@dataclass
class DraftRow:
    field: str = ""
    op: str = ""
    value: list[str] = dataclasses.field(
        default_factory=list
    )  # the inputs' texts (one, two, or a list)


@dataclass
class DraftSet:
    name: str
    rows: list[DraftRow] = dataclasses.field(default_factory=list)
    pattern: str = ""

    def as_data(self, specs: list[FieldSpec]) -> dict:
        by_key = {spec.key: spec for spec in specs}
        rows = [
            {"field": r.field, "op": r.op, "value": _value(by_key.get(r.field), r)}
            for r in self.rows
        ]
        return {"conditions": rows, "pattern": self.pattern}


@dataclass
class DraftLanguage:
    code: str
    name: str
    used: bool
    conditions: DraftSet


@dataclass
class RuleDraft:
    common: DraftSet
    languages: list[DraftLanguage]

    def sets(self) -> list[DraftSet]:
        return [self.common, *(block.conditions for block in self.languages)]


def _number(text: str):
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return text  # the check says what is wrong with it
    if not number.is_finite():
        return text
    return int(number) if number == number.to_integral_value() else float(number)


def _value(spec: FieldSpec | None, row: DraftRow):
    kind = value_kind(spec, row.op) if spec and row.op in OPERATORS else "text"
    first = row.value[0] if row.value else ""
    if kind == "none":
        return None
    if kind == "choices":  # a list of the field's choices, or free texts split at ";"
        return [v for v in row.value if v] if spec.choices else first
    if kind in PAIR_KINDS:
        pair = (row.value + ["", ""])[:2]
        return [_number(v) for v in pair] if kind == "number_pair" else pair
    if kind in ("number", "days"):
        return _number(first)
    return first


def _text(data, name: str, limit: int = 1000) -> str:
    value = data.get(name, "")
    return value.replace("\x00", "")[:limit] if isinstance(value, str) else ""


def _posted_set(data, name: str) -> DraftSet:
    count = _text(data, f"{name}-count", 4)
    count = min(int(count), MAX_ROWS) if count.isascii() and count.isdigit() else 0
    rows = []
    for i in range(count):
        values = [v.replace("\x00", "")[:1000] for v in data.getlist(f"{name}-{i}-value")]
        second = _text(data, f"{name}-{i}-value2")
        rows.append(
            DraftRow(
                field=_text(data, f"{name}-{i}-field", 100),
                op=_text(data, f"{name}-{i}-op", 30),
                value=values + ([second] if second else []),
            )
        )
    return DraftSet(name=name, rows=rows, pattern=_text(data, f"{name}-pattern", 2000))


def draft_from_post(data, portal: Portal) -> RuleDraft:
    offered = list(portal.languages)
    posted = [c for c in dict.fromkeys(data.getlist("language")) if c in offered]
    order = posted + [c for c in offered if c not in posted]
    names = dict(zip(offered, language_names(offered), strict=False))
    return RuleDraft(
        common=_posted_set(data, "common"),
        languages=[
            DraftLanguage(
                code=code,
                name=names.get(code, code),
                used=bool(data.get(f"lang-{code}-use")),
                conditions=_posted_set(data, f"lang-{code}"),
            )
            for code in order
        ],
    )


def _stored_row(row: dict) -> DraftRow:
    value = row.get("value")
    texts = [] if value is None else value if isinstance(value, list) else [value]
    return DraftRow(field=row.get("field", ""), op=row.get("op", ""), value=[str(v) for v in texts])


def _stored_set(name: str, data: dict) -> DraftSet:
    data = data if isinstance(data, dict) else {}
    rows = [_stored_row(row) for row in data.get("conditions", []) if isinstance(row, dict)]
    return DraftSet(name=name, rows=rows, pattern=data.get("pattern", ""))


def draft_from_rule(rule: AutoInviteRule | None, portal: Portal) -> RuleDraft:
    offered = list(portal.languages)
    stored = {e.get("language"): e for e in (rule.languages if rule else [])}
    order = [c for c in stored if c in offered] + [c for c in offered if c not in stored]
    if rule is None:
        stored = {portal.default_language: {}}
        order = [portal.default_language] + [c for c in offered if c != portal.default_language]
    names = dict(zip(offered, language_names(offered), strict=False))
    return RuleDraft(
        common=_stored_set("common", rule.common_conditions if rule else {}),
        languages=[
            DraftLanguage(
                code=code,
                name=names.get(code, code),
                used=code in stored,
                conditions=_stored_set(f"lang-{code}", stored.get(code, {}).get("conditions")),
            )
            for code in order
        ],
    )


def draft_apply(draft: RuleDraft, action: str) -> None:
    """One builder step: "add:<set>", "remove:<set>:<i>", "up:<code>", "down:<code>"."""
    verb, _sep, rest = action.partition(":")
    sets = {s.name: s for s in draft.sets()}
    if verb == "add" and rest in sets and len(sets[rest].rows) < MAX_ROWS:
        sets[rest].rows.append(DraftRow())
    elif verb == "remove":
        name, _sep, index = rest.rpartition(":")
        if name in sets and index.isdigit() and int(index) < len(sets[name].rows):
            del sets[name].rows[int(index)]
    elif verb in ("up", "down"):
        codes = [block.code for block in draft.languages]
        if rest in codes:
            i = codes.index(rest)
            j = i - 1 if verb == "up" else i + 1
            if 0 <= j < len(codes):
                draft.languages[i], draft.languages[j] = draft.languages[j], draft.languages[i]


# --- what the template shows for each row -------------------------------------------------------


@dataclass
class RowView:
    index: int
    number: int
    field: str
    op: str
    kind: str
    operators: list[tuple[str, str]]
    choices: tuple[str, ...]
    value: list[str]


def row_views(conditions: DraftSet, specs: list[FieldSpec]) -> list[RowView]:
    by_key = {spec.key: spec for spec in specs}
    views = []
    for i, row in enumerate(conditions.rows):
        spec = by_key.get(row.field)
        ops = operators_for(spec) if spec else []
        op = row.op if row.op in ops else (ops[0] if ops else "")
        kind = value_kind(spec, op) if spec else "none"
        texts = row.value
        if kind == "choices" and not spec.choices and len(texts) > 1:
            texts = [";".join(texts)]  # free texts show in one box
        views.append(
            RowView(
                index=i,
                number=i + 1,
                field=row.field if spec else "",
                op=op,
                kind=kind,
                operators=[(code, str(OPERATORS[code])) for code in ops],
                choices=spec.choices if spec else (),
                value=texts + ["", ""],
            )
        )
    return views


class FailedFilterForm(forms.Form):
    """The failed-invitation log's filter (AUT-7); a value it cannot read is shown as an
    error and filters nothing."""

    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", _("Any reason")), *FailedInvitation.Reason.choices],
    )
    date_from = forms.DateField(
        label=_("Failed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Failed until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def failed_filter(self) -> FailedFilter:
        if not self.is_valid():
            return FailedFilter()
        data = self.cleaned_data
        return FailedFilter(
            reason=data["reason"] or "", date_from=data["date_from"], date_to=data["date_to"]
        )
