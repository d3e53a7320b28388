"""Custom fields and the field layout (REC-1): what an admin sees and does on the settings
pages, what the services refuse, what a Standard member is refused, and the audit entry
every change leaves (USR-9)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from records import field_services
from records.fields import FIELD_TYPES, TYPES_WITH_CHOICES
from records.models import Account, Contact, CustomField, FieldLayout
from records.modules import field_specs, standard_specs
from records.services import record_create
from tests.conftest import client_for
from users import permissions
from users.models import AuditLogEntry, Profile

IP = "127.0.0.1"


def url(org, suffix=""):
    return f"/o/{org.slug}/settings/fields/{suffix}"


def list_url(org, module="contacts"):
    return f"{url(org)}?module={module}"


def audit(org):
    with scopes_disabled():
        return list(
            AuditLogEntry.objects.filter(org=org)
            .order_by("pk")
            .values_list("action", "actor_id", "ip_address")
        )


def state(org):
    """Everything these pages could change in an org."""
    with scopes_disabled():
        return {
            "fields": sorted(CustomField.objects.filter(org=org).values_list()),
            "layouts": sorted(FieldLayout.objects.filter(org=org).values_list()),
            "contacts": sorted(Contact.objects.filter(org=org).values_list("pk", "custom")),
            "audit": AuditLogEntry.objects.filter(org=org).count(),
        }


def make_field(org, **kwargs):
    values = {"module": "contacts", "field_type": "text", "label": kwargs.get("key", "Field")}
    values.update(kwargs)
    with scopes_disabled():
        return CustomField.objects.create(org=org, **values)


def add_contact(org, actor, **custom):
    with scopes_disabled():
        return record_create(
            org=org, actor=actor, module="contacts", data={"last_name": "Doe", **custom}
        )


def exists(model, pk) -> bool:
    with scopes_disabled():
        return model.objects.filter(pk=pk).exists()


def custom_of(record):
    with scopes_disabled():
        return type(record).objects.get(pk=record.pk).custom


def create(org, actor, label, field_type="text", choices=(), module="contacts", required=False):
    with scopes_disabled():
        return field_services.custom_field_create(
            org=org,
            actor=actor,
            module=module,
            label=label,
            field_type=field_type,
            choices=list(choices),
            required=required,
            ip=IP,
        )


@pytest.fixture
def plan(org_a):
    return make_field(
        org_a, key="plan", label="Plan", field_type="picklist", choices=["Basic", "Pro", "Max"]
    )


@pytest.fixture
def colours(org_a):
    return make_field(
        org_a,
        key="colours",
        label="Colours",
        field_type="multiselect",
        choices=["Red", "Blue", "Green"],
        position=2,
    )


# --- who may, and how ------------------------------------------------------------------------

PAGES = [
    "",
    "contacts/new/",
    "contacts/{field}/edit/",
    "contacts/{field}/delete/",
    "contacts/layout/",
]


def page_url(org, page, field):
    return url(org, page.format(field=field.pk))


@pytest.mark.parametrize("page", PAGES)
def test_rec1_standard_member_gets_403_on_every_page(client_member_a, org_a, plan, page):
    path = page_url(org_a, page, plan)
    before = state(org_a)
    assert client_member_a.get(path).status_code == 403
    hostile = {"label": "Mallory", "field_type": "text", "pos-email": "1", "move": "up:email"}
    assert client_member_a.post(path, hostile).status_code == 403
    assert state(org_a) == before


def test_rec1_manage_users_permission_is_not_enough(org_a, member_a, plan):
    """Fields change every record form: the Administrator profile only, not Manage Users."""
    with scopes_disabled():
        member_a.profile = Profile.objects.create(
            org=org_a, name="Team leads", permissions=[permissions.MANAGE_USERS]
        )
        member_a.save()
    client = client_for(member_a)
    for page in PAGES:
        assert client.get(page_url(org_a, page, plan)).status_code == 403, page


@pytest.mark.parametrize("page", PAGES)
def test_rec1_wrong_method_gets_405(client_admin_a, org_a, plan, page):
    path = page_url(org_a, page, plan)
    before = state(org_a)
    for method in ("put", "patch", "delete"):
        assert getattr(client_admin_a, method)(path).status_code == 405
    if page == "":
        assert client_admin_a.post(path, {"label": "X", "field_type": "text"}).status_code == 405
    assert state(org_a) == before


@pytest.mark.parametrize(
    "path",
    [
        "?module=deals",
        "deals/new/",
        "deals/layout/",
        "accounts/{field}/edit/",  # a contacts field under the accounts address
        "accounts/{field}/delete/",
        "contacts/987654/edit/",
    ],
)
def test_rec1_unknown_module_or_field_is_404(client_admin_a, org_a, plan, path):
    assert client_admin_a.get(url(org_a, path.format(field=plan.pk))).status_code == 404


def test_rec1_services_refuse_non_admins(org_a, member_a, admin_b, plan):
    before = state(org_a)
    with scopes_disabled():
        for actor in (member_a, admin_b, None):
            with pytest.raises(PermissionDenied):
                create(org_a, actor, "Rank")
            with pytest.raises(PermissionDenied):
                field_services.custom_field_update(
                    org=org_a, actor=actor, field=plan, label="Tier", choices=plan.choices
                )
            with pytest.raises(PermissionDenied):
                field_services.custom_field_delete(org=org_a, actor=actor, field=plan)
            with pytest.raises(PermissionDenied):
                field_services.field_layout_save(
                    org=org_a, actor=actor, module="contacts", order=["email"]
                )
    assert state(org_a) == before


# --- the list --------------------------------------------------------------------------------


def test_rec1_list_shows_standard_fields_read_only_and_the_empty_state(client_admin_a, org_a):
    body = client_admin_a.get(url(org_a)).content.decode()
    assert "Fields of Contacts" in body
    assert "No custom fields yet." in body
    assert f'href="{url(org_a, "contacts/new/")}"' in body
    for spec in standard_specs("contacts"):
        assert f"<code>{spec.key}</code>" in body
    assert "/edit/" not in body, "standard fields offer no edit"
    assert f'href="{list_url(org_a, "accounts")}"' in body
    accounts = client_admin_a.get(list_url(org_a, "accounts")).content.decode()
    assert "Fields of Accounts" in accounts and "<code>industry</code>" in accounts


def test_rec1_list_shows_custom_fields_of_the_module_only(client_admin_a, org_a, plan):
    make_field(org_a, module="accounts", key="tier", label="Tier")
    body = client_admin_a.get(url(org_a)).content.decode()
    assert "No custom fields yet." not in body
    assert ">Plan</a>" in body and "Basic, Pro, Max" in body and "Picklist" in body
    assert f'href="{url(org_a, f"contacts/{plan.pk}/delete/")}"' in body
    assert "Tier" not in body
    assert "Tier" in client_admin_a.get(list_url(org_a, "accounts")).content.decode()


def test_rec1_list_query_count_does_not_grow(client_admin_a, org_a):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client_admin_a.get(url(org_a)).status_code == 200
        return len(queries)

    few = count()
    for n in range(15):
        make_field(org_a, key=f"f{n}", label=f"F {n}", field_type="picklist", choices=["a"])
    assert count() == few <= 8


# --- creating --------------------------------------------------------------------------------


@pytest.mark.parametrize("field_type", [code for code, _label in FIELD_TYPES])
def test_rec1_admin_creates_a_field_of_each_type(client_admin_a, org_a, admin_a, field_type):
    with_choices = field_type in TYPES_WITH_CHOICES
    response = client_admin_a.post(
        url(org_a, "contacts/new/"),
        {
            "label": "Customer rank",
            "field_type": field_type,
            "choices": "Gold\r\n Silver \r\n\r\nBronze\r\n" if with_choices else "",
            "required": "on",
        },
        follow=True,
    )
    assert response.redirect_chain == [(list_url(org_a), 302)]
    assert "Field Customer rank added to Contacts." in response.content.decode()
    with scopes_disabled():
        field = CustomField.objects.get(org=org_a)
    assert (field.module, field.key, field.label, field.field_type, field.required) == (
        "contacts",
        "customer-rank",
        "Customer rank",
        field_type,
        True,
    )
    assert field.choices == (["Gold", "Silver", "Bronze"] if with_choices else [])
    with scopes_disabled():
        assert field_specs(org_a, "contacts")[-1] == field.spec()
    assert audit(org_a) == [("customfield.created", admin_a.pk, IP)]


@pytest.mark.parametrize(
    ("field_type", "choices", "error"),
    [
        ("text", "Gold", "Only picklist and multi-select fields have choices"),
        ("picklist", "\r\n  \r\n", "Give at least one choice, one per line."),
        ("multiselect", "Red\r\nBlue\r\nred", "“red” is listed twice. Each choice once."),
        ("picklist", "\n".join(f"c{n}" for n in range(101)), "At most 100 choices, not 101."),
        ("multiselect", "Red;Blue", "a multi-select choice cannot contain “;”."),
    ],
    ids=["text-with-choices", "no-choices", "duplicate", "too-many", "semicolon"],
)
def test_rec1_choices_are_checked_and_typed_input_kept(
    client_admin_a, org_a, field_type, choices, error
):
    before = state(org_a)
    response = client_admin_a.post(
        url(org_a, "contacts/new/"),
        {"label": "Typed label", "field_type": field_type, "choices": choices},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert error in body
    assert 'value="Typed label"' in body
    assert f'<option value="{field_type}" selected>' in body
    if choices.strip():
        assert choices.split("\n")[0].strip() in body
    assert state(org_a) == before


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Customer rank", "customer-rank"),
        ("  Année   fiscale ", "annee-fiscale"),
        ("Renewal__date (UTC)", "renewal-date-utc"),
        ("2026 budget", "field-2026-budget"),
        ("x" * 80, "x" * 60),
    ],
)
def test_rec1_key_is_derived_from_the_label(org_a, admin_a, label, key):
    field = create(org_a, admin_a, label)
    assert field.key == key
    assert field.label == " ".join(label.split())


def test_rec1_japanese_label_gets_a_numbered_key(org_a, admin_a):
    first = create(org_a, admin_a, "顧客ランク")
    second = create(org_a, admin_a, "契約更新日", field_type="date")
    on_accounts = create(org_a, admin_a, "業種の詳細", module="accounts")
    assert (first.key, second.key, on_accounts.key) == ("field-1", "field-2", "field-1")
    assert first.label == "顧客ランク"


def test_rec1_numbered_keys_are_not_reused_while_a_later_one_exists(org_a, admin_a):
    make_field(org_a, key="field-7", label="Old")
    assert create(org_a, admin_a, "ステータス").key == "field-8"


@pytest.mark.parametrize(
    ("label", "error"),
    [
        ("customer RANK", "Contacts already have a field labelled “customer RANK”."),
        ("Customer-rank!", "Another field of Contacts has the key “customer-rank”"),
        ("", "Give the field a label."),
        ("x" * 81, "The label is longer than 80 characters."),
    ],
)
def test_rec1_duplicate_or_bad_label_is_refused(org_a, admin_a, label, error):
    create(org_a, admin_a, "Customer rank")
    before = state(org_a)
    with pytest.raises(ActionRefused, match=error) as refused:
        create(org_a, admin_a, label)
    assert refused.value.field == "label"
    assert state(org_a) == before


def test_rec1_same_label_in_another_module_or_org_is_fine(org_a, admin_a, org_b, admin_b):
    create(org_a, admin_a, "Customer rank")
    assert create(org_a, admin_a, "Customer rank", module="accounts").key == "customer-rank"
    assert create(org_b, admin_b, "Customer rank").key == "customer-rank"


@pytest.mark.parametrize(
    ("module", "label"),
    [
        ("contacts", "Email"),  # a standard label
        ("contacts", "first_name"),  # a standard key, however written
        ("contacts", "Secondary-Email"),
        ("contacts", "Owner"),  # a relation
        ("contacts", "account id"),
        ("contacts", "Custom"),  # the record's own attributes
        ("accounts", "Name"),
    ],
)
def test_rec1_clash_with_a_standard_field_is_refused(org_a, admin_a, module, label):
    before = state(org_a)
    with pytest.raises(ActionRefused) as refused:
        create(org_a, admin_a, label, module=module)
    assert refused.value.field == "label"
    assert "Choose another label." in refused.value.message
    assert state(org_a) == before


def test_rec1_a_standard_name_of_another_module_is_fine(org_a, admin_a):
    assert create(org_a, admin_a, "Email", module="accounts").key == "email"


def test_rec1_duplicate_label_on_the_page_keeps_what_was_typed(client_admin_a, org_a, plan):
    before = state(org_a)
    response = client_admin_a.post(
        url(org_a, "contacts/new/"),
        {"label": "plan", "field_type": "multiselect", "choices": "One\nTwo", "required": "on"},
    )
    body = response.content.decode()
    assert "Contacts already have a field labelled “plan”. Choose another label." in body
    assert 'value="plan"' in body and "One\nTwo</textarea>" in body
    assert 'id="id_required" checked' in body
    assert state(org_a) == before


# --- changing --------------------------------------------------------------------------------


def test_rec1_type_and_key_cannot_change(client_admin_a, org_a, admin_a, plan):
    edit = url(org_a, f"contacts/{plan.pk}/edit/")
    page = client_admin_a.get(edit).content.decode()
    assert "Edit the field Plan" in page
    assert "The type and the key cannot change once a field is created" in page
    assert 'name="field_type"' not in page and "<code>plan</code>" in page
    assert "Basic\nPro\nMax</textarea>" in page
    response = client_admin_a.post(
        edit,
        {"label": "Tier", "field_type": "text", "key": "tier", "choices": "Basic\nPro\nMax\nUltra"},
        follow=True,
    )
    assert response.redirect_chain == [(list_url(org_a), 302)]
    assert "Field Tier saved." in response.content.decode()
    plan.refresh_from_db()
    assert (plan.key, plan.field_type, plan.label) == ("plan", "picklist", "Tier")
    assert plan.choices == ["Basic", "Pro", "Max", "Ultra"]
    assert audit(org_a) == [("customfield.changed", admin_a.pk, IP)]
    with scopes_disabled():
        entry = AuditLogEntry.objects.get(org=org_a)
    assert entry.details["before"]["label"] == "Plan"
    assert entry.details["after"]["choices"] == ["Basic", "Pro", "Max", "Ultra"]


def test_rec1_field_without_choices_shows_no_choices_on_edit(client_admin_a, org_a):
    seats = make_field(org_a, key="seats", label="Seats", field_type="number")
    page = client_admin_a.get(url(org_a, f"contacts/{seats.pk}/edit/")).content.decode()
    assert 'name="choices"' not in page and "Number" in page
    client_admin_a.post(
        url(org_a, f"contacts/{seats.pk}/edit/"), {"label": "Seats", "choices": "x"}
    )
    seats.refresh_from_db()
    assert seats.choices == []


def test_rec1_removing_a_used_choice_is_refused_with_the_count(
    client_admin_a, org_a, admin_a, plan
):
    for value in ("Pro", "Pro", "Basic", ""):
        add_contact(org_a, admin_a, plan=value)
    before = state(org_a)
    edit = url(org_a, f"contacts/{plan.pk}/edit/")
    response = client_admin_a.post(edit, {"label": "Plan", "choices": "Basic\nPremium\nMax"})
    body = response.content.decode()
    assert response.status_code == 200
    assert (
        "“Pro” is the value of 2 records. Change those records first, or keep the choice." in body
    )
    assert "Basic\nPremium\nMax</textarea>" in body, "what was typed is kept"
    assert state(org_a) == before
    client_admin_a.post(edit, {"label": "Plan", "choices": "Basic\r\nPro"})  # Max is unused
    plan.refresh_from_db()
    assert plan.choices == ["Basic", "Pro"]


def test_rec1_removing_used_multiselect_choices_names_each(org_a, admin_a, colours):
    add_contact(org_a, admin_a, colours=["Red", "Blue"])
    add_contact(org_a, admin_a, colours=["Blue"])
    add_contact(org_a, admin_a, colours=["Green"])
    with pytest.raises(ActionRefused) as refused, scopes_disabled():
        field_services.custom_field_update(
            org=org_a, actor=admin_a, field=colours, label="Colours", choices=["Green"]
        )
    assert refused.value.message == (
        "“Red” is the value of 1 record. “Blue” is the value of 2 records. "
        "Change those records first, or keep the choice."
    )
    assert refused.value.field == "choices"


def test_rec1_a_choice_used_in_another_org_does_not_count(org_a, admin_a, org_b, admin_b, plan):
    make_field(org_b, key="plan", label="Plan", field_type="picklist", choices=["Pro"])
    add_contact(org_b, admin_b, plan="Pro")
    with scopes_disabled():
        field_services.custom_field_update(
            org=org_a, actor=admin_a, field=plan, label="Plan", choices=["Basic"]
        )
    plan.refresh_from_db()
    assert plan.choices == ["Basic"]


def test_rec1_update_that_changes_nothing_writes_no_audit_entry(org_a, admin_a, plan):
    with scopes_disabled():
        field_services.custom_field_update(
            org=org_a, actor=admin_a, field=plan, label="Plan", choices=["Basic", "Pro", "Max"]
        )
    assert audit(org_a) == []


# --- deleting --------------------------------------------------------------------------------


def test_rec1_delete_after_confirmation_removes_the_values(
    client_admin_a, org_a, admin_a, org_b, admin_b, plan, colours
):
    holders = [add_contact(org_a, admin_a, plan="Pro", colours=["Red"]) for _n in range(2)]
    empty = add_contact(org_a, admin_a, plan="", colours=["Blue"])
    other_org = make_field(org_b, key="plan", label="Plan", field_type="text")
    elsewhere = add_contact(org_b, admin_b, plan="Kept")
    delete = url(org_a, f"contacts/{plan.pk}/delete/")

    confirm = client_admin_a.get(delete).content.decode()
    assert "Delete the field Plan?" in confirm
    assert "2 records hold a value in this field." in confirm
    assert exists(CustomField, plan.pk), "GET deletes nothing"

    response = client_admin_a.post(delete, follow=True)
    assert response.redirect_chain == [(list_url(org_a), 302)]
    assert "Field Plan deleted; its values were removed from 2 records." in (
        response.content.decode()
    )
    assert not exists(CustomField, plan.pk)
    assert [custom_of(c) for c in holders] == [{"colours": ["Red"]}] * 2
    assert custom_of(empty) == {"colours": ["Blue"]}
    assert custom_of(elsewhere) == {"plan": "Kept"}
    assert exists(CustomField, other_org.pk)
    assert audit(org_a) == [("customfield.deleted", admin_a.pk, IP)]
    with scopes_disabled():
        details = AuditLogEntry.objects.get(org=org_a).details
    assert details == {
        "module": "contacts",
        "key": "plan",
        "label": "Plan",
        "type": "picklist",
        "records_with_value": 2,
    }


def test_rec1_delete_an_accounts_field_touches_accounts_only(org_a, admin_a):
    tier = create(org_a, admin_a, "Tier", module="accounts")
    contact = add_contact(org_a, admin_a)
    with scopes_disabled():
        Contact.objects.filter(pk=contact.pk).update(custom={"tier": "kept"})
        account = record_create(
            org=org_a, actor=admin_a, module="accounts", data={"name": "ACME", "tier": "Gold"}
        )
        assert field_services.records_with_value_count(tier) == 1
        assert field_services.custom_field_delete(org=org_a, actor=admin_a, field=tier) == 1
    assert custom_of(account) == {}
    assert custom_of(contact) == {"tier": "kept"}
    assert exists(Account, account.pk)


def test_rec1_unchecked_checkbox_and_empty_values_do_not_count_as_held(org_a, admin_a):
    agreed = create(org_a, admin_a, "Agreed", field_type="checkbox")
    picked = create(org_a, admin_a, "Picked", field_type="multiselect", choices=["a"])
    for value in (True, False, ""):
        add_contact(org_a, admin_a, agreed=value, picked=["a"] if value is True else [])
    with scopes_disabled():
        assert field_services.records_with_value_count(agreed) == 1
        assert field_services.records_with_value_count(picked) == 1


# --- layout ----------------------------------------------------------------------------------


def keys(specs):
    return [spec.key for spec in specs]


def ordered(org, module="contacts"):
    with scopes_disabled():
        return keys(field_services.ordered_specs(org, module))


def test_rec1_layout_saved_and_ordered_specs_follow_it(client_admin_a, org_a, admin_a, plan):
    default = ordered(org_a)
    assert default == [*keys(standard_specs("contacts")), "plan"]
    layout = url(org_a, "contacts/layout/")
    page = client_admin_a.get(layout).content.decode()
    assert page.index('id="layout-first_name"') < page.index('id="layout-plan"')
    assert 'value="up:first_name" disabled' in page and 'value="down:plan" disabled' in page

    numbers = {f"pos-{key}": n + 3 for n, key in enumerate(default)}
    numbers.update({"pos-plan": "1", "pos-email": "2"})
    response = client_admin_a.post(layout, {**numbers, "save": "1"}, follow=True)
    assert response.redirect_chain == [(layout, 302)]
    assert "The order of the Contacts fields is saved." in response.content.decode()
    expected = ["plan", "email", *[k for k in default if k not in ("plan", "email")]]
    assert ordered(org_a) == expected
    with scopes_disabled():
        assert FieldLayout.objects.get(org=org_a, module="contacts").order == expected
        assert ordered(org_a, "accounts") == keys(standard_specs("accounts"))
    assert audit(org_a) == [("fieldlayout.changed", admin_a.pk, IP)]


def test_rec1_layout_up_and_down_buttons_work_without_js(client_admin_a, org_a, plan, colours):
    layout = url(org_a, "contacts/layout/")
    current = ordered(org_a)
    positions = {f"pos-{key}": n + 1 for n, key in enumerate(current)}
    client_admin_a.post(layout, {**positions, "move": "up:plan"})
    assert ordered(org_a)[-3:] == ["plan", "description", "colours"]
    client_admin_a.post(layout, {**positions, "move": "down:first_name"})
    assert ordered(org_a)[:2] == ["last_name", "first_name"]
    with scopes_disabled():
        assert [f.key for f in CustomField.objects.filter(org=org_a).order_by("position")] == [
            "plan",
            "colours",
        ]


def test_rec1_field_added_after_the_layout_goes_last(org_a, admin_a, plan):
    with scopes_disabled():
        field_services.field_layout_save(
            org=org_a, actor=admin_a, module="contacts", order=["plan", "last_name"]
        )
    assert ordered(org_a)[:2] == ["plan", "last_name"]
    create(org_a, admin_a, "Renewal", field_type="date")
    assert ordered(org_a)[-1] == "renewal"


@pytest.mark.parametrize(
    ("order", "error"),
    [
        (["plan", "nope"], "There is no field nope."),
        (["plan", "email", "plan"], "A field is listed twice."),
    ],
)
def test_rec1_layout_with_unknown_or_repeated_fields_is_refused(org_a, admin_a, plan, order, error):
    before = state(org_a)
    with pytest.raises(ActionRefused, match=error), scopes_disabled():
        field_services.field_layout_save(org=org_a, actor=admin_a, module="contacts", order=order)
    assert state(org_a) == before


def test_rec1_layout_bad_number_keeps_what_was_typed(client_admin_a, org_a, plan):
    before = state(org_a)
    response = client_admin_a.post(
        url(org_a, "contacts/layout/"), {"pos-plan": "first", "pos-email": "7", "save": "1"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Type a whole number, like 3." in body
    assert 'name="pos-plan" value="first" aria-invalid="true"' in body
    assert 'name="pos-email" value="7"' in body
    assert state(org_a) == before


def test_rec1_saving_the_same_layout_again_writes_nothing(client_admin_a, org_a, plan):
    layout = url(org_a, "contacts/layout/")
    client_admin_a.post(layout, {"save": "1"})
    before = state(org_a)
    assert before["audit"] == 1
    client_admin_a.post(layout, {"save": "1"})
    assert state(org_a) == before
