"""Messages stored now and read later are a code with parameters (X-1, X-8): an import row's
reason written while the importer used English reads in Japanese for a Japanese viewer; an
unknown code or a missing parameter never breaks a page."""

import json

import pytest
from django.utils import translation
from django_scopes import scopes_disabled

from crm_portal.stored_messages import MESSAGES, dumps, render, render_text
from records.fields import value_problem
from records.models import ContactImport
from tests.conftest import client_for
from tests.imports.wizard import WizardPages
from tests.users.factories import CrmUserFactory
from users.models import Profile, User

PAGES = WizardPages(route="contacts/import/", model=ContactImport, filename="contacts.csv")


@pytest.fixture
def japanese_admin(org_a):
    with scopes_disabled():
        admin = CrmUserFactory(
            org=org_a, profile=Profile.objects.get(org=org_a, builtin=Profile.ADMINISTRATOR)
        )
    User.objects.filter(pk=admin.user_id).update(language="ja")
    return admin


def test_x1_import_reason_stored_in_english_reads_in_japanese(
    client_admin_a, org_a, japanese_admin, django_capture_on_commit_callbacks
):
    rows = [["Last name", "Phone"], ["Mori", "not a phone"]]
    imp = PAGES.run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    with scopes_disabled():
        row = imp.rows.get()
    stored = json.loads(row.reason)
    assert row.outcome == "failed"
    assert stored["code"] == "row.problems", "a code with parameters, not English text"

    english = client_admin_a.get(PAGES.url(org_a, f"{imp.pk}/")).content.decode()
    assert "Phone: “not a phone” is not a phone number." in english
    japanese = client_for(japanese_admin).get(PAGES.url(org_a, f"{imp.pk}/")).content.decode()
    assert "電話番号: 「not a phone」は有効な電話番号ではありません。" in japanese
    assert "is not a phone number" not in japanese


def test_x8_unknown_code_and_missing_params_are_safe():
    assert render("portal.something_new", {"name": "Acme"}) == "Acme"
    assert render("portal.something_new") == "portal.something_new"
    assert render("value.not_a_choice", {"field": "Colour"}) == (
        "“—” is not one of the choices of Colour."
    )
    assert render("row.nothing_to_change", None) == "Nothing to change."


def test_x8_reasons_written_before_codes_still_read_as_they_were():
    assert render_text("No licence left.") == "No licence left."
    assert render_text("{not json") == "{not json"
    assert render_text("") == ""
    assert render_text(dumps("user.no_licence")) == "No licence left."


def test_x8_value_problem_is_a_code_with_params_shown_now_and_later():
    error = value_problem("value.phone_invalid", value="abc")
    assert error.messages == ["“abc” is not a phone number."]
    assert (error.code, error.params) == ("value.phone_invalid", {"value": "abc"})
    with translation.override("ja"):
        assert render(error.code, error.params) == "「abc」は有効な電話番号ではありません。"


def test_x8_every_stored_message_renders_with_its_params():
    """No template of the registry raises, whatever its parameters."""
    for code in MESSAGES:
        assert render(code, {}) != ""
