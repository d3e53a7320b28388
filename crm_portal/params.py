"""The one place that reads query parameters (X-6): every list, filter and API view takes its
parameters through these, so hostile values — NUL bytes, megabyte strings, huge or negative
numbers, repeated keys, wrong types — become a default or a clear 400, never a 500."""

from collections.abc import Iterable

MAX_TEXT_LENGTH = 200
# Past this a page number means nothing: no list pages that deep, and the database's bigint
# offset is far away.
MAX_PAGE = 1_000_000


class BadParameter(ValueError):
    """A parameter a strict reader refuses; `name` says which."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


def text_param(params, name: str, default: str = "", *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """The last value of `name`, NUL bytes and surrounding space removed, cut to max_length."""
    raw = params.get(name, default)
    if not isinstance(raw, str):
        return default
    return raw.replace("\x00", "").strip()[:max_length]


def choice_param(params, name: str, choices: Iterable[str], default: str = "") -> str:
    """The value if it is one of `choices`, else `default`."""
    value = text_param(params, name)
    return value if value in set(choices) else default


def int_param(
    params, name: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_PAGE
) -> int | None:
    """A whole number within [minimum, maximum]; anything else (text, NUL, a number out of
    range or of 400 digits) is `default`."""
    value = text_param(params, name, max_length=20)
    if not value.isascii() or not value.lstrip("-").isdigit():
        return default
    number = int(value)
    return number if minimum <= number <= maximum else default


def strict_int_param(
    params, name: str, default: int, *, message: str, minimum: int = 1, maximum: int = MAX_PAGE
) -> int:
    """A whole number within [minimum, maximum] written in plain digits, or `default` when
    the parameter is absent. Anything else given — empty (`?page=`), spaces, a sign, a NUL,
    21 digits — raises BadParameter (the JSON API answers it with a 400 naming it)."""
    if name not in params:
        return default
    value = params.get(name)
    digits = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20
    if not digits or not minimum <= int(value) <= maximum:
        raise BadParameter(name, message)
    return int(value)


def strict_text_param(params, name: str, *, max_length: int, message: str) -> str | None:
    """The last value of `name` exactly as given, or None when absent; empty, longer than
    max_length or holding a NUL byte raises BadParameter."""
    if name not in params:
        return None
    value = params.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= max_length or "\x00" in value:
        raise BadParameter(name, message)
    return value


def page_param(params, name: str = "page") -> int:
    """A page number for a list: 1 unless a sensible one is given."""
    return int_param(params, name, 1) or 1


def id_list_param(values: Iterable[str], *, limit: int = 1000) -> list[int]:
    """Ids from a repeated form field (`getlist`): only whole numbers that fit a bigint."""
    ids = []
    for value in values:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
            ids.append(int(value))
    return ids[:limit]


def sort_param(params, allowed: Iterable[str], default: str, name: str = "sort") -> str:
    """A list's sort key from the page's whitelist (issue 11): anything else — an unknown
    column, a field path, a NUL, a megabyte — is the default order."""
    return choice_param(params, name, allowed, default=default)
