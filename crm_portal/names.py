"""How a person's name reads in the viewer's language (X-1): family name first in Japanese,
given name first otherwise."""

from django.utils import translation

FAMILY_NAME_FIRST_LANGUAGES = ("ja",)


def family_name_first(language: str | None = None) -> bool:
    """Whether `language` (the active UI language when not given) puts the family name first."""
    language = language if language is not None else translation.get_language()
    return (language or "").split("-")[0] in FAMILY_NAME_FIRST_LANGUAGES


def person_name(first: str, last: str, language: str | None = None) -> str:
    """ "Yamada Taro" in Japanese, "Taro Yamada" otherwise; a blank part is left out."""
    parts = (last, first) if family_name_first(language) else (first, last)
    return " ".join(part.strip() for part in parts if part and part.strip())


GIVEN_NAME, FAMILY_NAME = "first_name", "last_name"


def family_name_field_first(names: list[str], language: str | None = None) -> list[str]:
    """`names` with the family name field moved before the given name field when the UI
    language (or `language`) puts the family name first (X-1); otherwise unchanged."""
    if not family_name_first(language) or GIVEN_NAME not in names or FAMILY_NAME not in names:
        return list(names)
    given, family = names.index(GIVEN_NAME), names.index(FAMILY_NAME)
    if family < given:
        return list(names)
    reordered = list(names)
    reordered[given], reordered[family] = FAMILY_NAME, GIVEN_NAME
    return reordered
