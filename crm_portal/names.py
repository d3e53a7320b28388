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
