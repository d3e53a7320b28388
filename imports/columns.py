"""Which column of a file fills which field (IMP-2): headers recognised in English and
Japanese, and the mapping a member chose, checked. Plain functions over the kind's fields."""

import unicodedata

from django.utils import translation
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused


def normalise_header(header: str) -> str:
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    for char in " _-・.:：":
        text = text.replace(char, "")
    return text


def is_id(cell: str) -> bool:
    """Whether a cell can hold a record's ID: digits that fit a bigint, as primary keys do."""
    return cell.isdigit() and len(cell) < 19


def header_lookup(aliases: dict[str, list[str]], fields: list[tuple]) -> dict[str, str]:
    """{normalised header: field}: the `aliases` ({field: [header, …]}), then every field's
    label of `fields` ([(field, label)]) in English and Japanese."""
    lookup = {normalise_header(alias): key for key, names in aliases.items() for alias in names}
    for key, label in fields:
        for language in ("en", "ja"):
            with translation.override(language):
                lookup.setdefault(normalise_header(str(label)), key)
    return lookup


def auto_mapping(headers: list[str], lookup: dict[str, str]) -> dict[str, str]:
    """{column index: field} for every header `lookup` recognises; each field at most once."""
    mapping, used = {}, set()
    for index, header in enumerate(headers):
        key = lookup.get(normalise_header(header))
        if key and key not in used:
            mapping[str(index)] = key
            used.add(key)
    return mapping


def mapping_checked(*, headers: list, mapping: dict, labels: dict, needed: list[str]) -> dict:
    """{column index: field} without the unmapped columns, or ActionRefused: only fields of
    `labels` ({field: label}), each at most once, and every field of `needed` present."""
    chosen = {str(i): f for i, f in mapping.items() if f}
    unknown = set(chosen.values()) - set(labels)
    if unknown or any(not i.isdigit() or int(i) >= len(headers) for i in chosen):
        raise ActionRefused(_("Choose fields from the lists."))
    fields = list(chosen.values())
    twice = sorted({f for f in fields if fields.count(f) > 1})
    if twice:
        raise ActionRefused(
            _("Each field can take only one column: %(fields)s.")
            % {"fields": ", ".join(str(labels[f]) for f in twice)}
        )
    missing = [f for f in dict.fromkeys(needed) if f not in fields]
    if missing:
        raise ActionRefused(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(str(labels[f]) for f in missing)}
        )
    return chosen
