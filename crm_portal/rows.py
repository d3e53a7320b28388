"""Helpers for the rows of list pages (issue 21): a page of 25 rows should cost little more
than a page of 5, so what is the same for every row is worked out once per page."""

from collections.abc import Callable

from django.urls import reverse

# A primary key no row has, reversed in its URL's place and then swapped for each row's.
_SLOT = 987654321987654321


def pk_url(viewname: str, pk_name: str, **kwargs) -> Callable[[int], str]:
    """A function giving `reverse(viewname, kwargs={**kwargs, pk_name: pk})` for any pk,
    which reverses once: URL reversing is the costliest thing a list's row did."""
    head, slot, tail = reverse(viewname, kwargs={**kwargs, pk_name: _SLOT}).partition(str(_SLOT))
    if not slot:  # the pk is not a plain path segment of this URL
        return lambda pk: reverse(viewname, kwargs={**kwargs, pk_name: pk})
    return lambda pk: f"{head}{pk}{tail}"
