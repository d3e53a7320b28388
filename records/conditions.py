"""STAND-IN — NOT THE REAL MODULE. A minimal copy of the records.conditions contract
(/work/wt/CONDITIONS_API.md) so the auto-invite engine can be tested before the `conditions`
branch lands; it is deleted in the commit that merges that branch. Only a few text operators,
no pattern parsing beyond "all ANDed" — do not build on it."""

from dataclasses import asdict, dataclass, field


@dataclass
class TraceRow:
    number: int
    field_label: str
    op_label: str
    expected: str
    actual: str
    result: bool


@dataclass
class Trace:
    result: bool
    pattern: str
    rows: list[TraceRow] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "result": self.result,
            "pattern": self.pattern,
            "rows": [asdict(r) for r in self.rows],
        }


def contact_values(contact, specs) -> dict:
    values = {}
    for spec in specs:
        values[spec.key] = (
            (contact.custom or {}).get(spec.key)
            if spec.custom
            else getattr(contact, spec.key, None)
        )
    return values


def condition_set_missing_fields(data, *, specs) -> list[str]:
    keys = {spec.key for spec in specs}
    return [c["field"] for c in (data or {}).get("conditions", []) if c["field"] not in keys]


def _test(condition, values) -> bool:
    actual = values.get(condition["field"])
    text = "" if actual is None else str(actual).lower()
    expected = condition.get("value")
    op = condition["op"]
    if op == "is":
        return text == str(expected).lower()
    if op == "is_not":
        return text != str(expected).lower()
    if op == "contains":
        return str(expected).lower() in text
    if op == "empty":
        return text == ""
    if op == "not_empty":
        return text != ""
    if op == "one_of":
        return text in {str(v).lower() for v in expected}
    raise ValueError(op)


def condition_set_evaluate(data, values, *, specs, tz) -> bool:
    return all(_test(c, values) for c in (data or {}).get("conditions", []))


def condition_set_explain(data, values, *, specs, tz) -> Trace:
    rows = [
        TraceRow(
            n,
            c["field"],
            c["op"],
            str(c.get("value", "")),
            str(values.get(c["field"]) or ""),
            _test(c, values),
        )
        for n, c in enumerate((data or {}).get("conditions", []), start=1)
    ]
    return Trace(
        result=all(r.result for r in rows), pattern=(data or {}).get("pattern", ""), rows=rows
    )
