"""The worker is handed a kind's key and finds the kind through settings.IMPORT_KINDS."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from imports.kinds import import_kind
from records.contact_import import CONTACT_IMPORT
from users.importing import USER_IMPORT


def test_imp6_every_listed_kind_is_found_by_its_key():
    assert import_kind("users") is USER_IMPORT
    assert import_kind("contacts") is CONTACT_IMPORT


def test_imp6_a_kind_listed_under_another_key_is_refused(settings):
    settings.IMPORT_KINDS = {"people": "users.importing.USER_IMPORT"}
    with pytest.raises(ImproperlyConfigured, match="'people'"):
        import_kind("people")
