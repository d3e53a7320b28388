"""A portal's auto-invite settings (AUT-1 … AUT-4, AUT-6, AUT-11): the services that keep the
rule and the Auto-invite tab with its condition builder."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from portals import autoinvite_rules as rules
from portals.models import AutoInviteDay, AutoInviteRule
from records.models import CustomField
from records.modules import field_registry_changed
from tests.conftest import client_for
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.users.factories import CrmUserFactory
from users.models import AuditLogEntry, Profile


def _member(org, *codes):
    with scopes_disabled():
        profile = Profile.objects.create(org=org, name=f"P {'+'.join(codes) or 'none'}")
        profile.permissions = list(codes)
        profile.save()
        return CrmUserFactory(org=org, profile=profile)


@pytest.fixture
def portal_manager(org_a):
    return _member(org_a, "manage_portals")


@pytest.fixture
def portal_a(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Help centre", languages=["en", "ja"])


@pytest.fixture
def group_a(portal_a):
    with scopes_disabled():
        return UserGroupFactory(portal=portal_a, name="Customers")


def _set(*conditions, pattern=""):
    return {"conditions": list(conditions), "pattern": pattern}


def _input(group, **overrides):
    values = {
        "trigger": "both",
        "group_id": group.pk,
        "language_mode": "multiple",
        "common_conditions": _set({"field": "subscription", "op": "is", "value": "paid"}),
        "languages": [
            {"language": "ja", "conditions": _set({"field": "country", "op": "is", "value": "JP"})},
            {"language": "en", "conditions": _set()},
        ],
        "reminder_enabled": True,
        "reminder_after_days": 5,
    }
    values.update(overrides)
    return rules.RuleInput(**values)


def _save(org, actor, portal, data):
    with scopes_disabled():
        return rules.rule_save(org=org, actor=actor, portal=portal, data=data)


# --- services -----------------------------------------------------------------------------------


def test_aut2_aut3_rule_save_keeps_common_and_ordered_languages(
    org_a, portal_manager, portal_a, group_a
):
    """AUT-2, AUT-3: common conditions and each language's, in the admin's order, audited."""
    rule = _save(org_a, portal_manager, portal_a, _input(group_a))
    with scopes_disabled():
        rule.refresh_from_db()
        assert [e["language"] for e in rule.languages] == ["ja", "en"]
        assert rule.common_conditions["conditions"][0]["field"] == "subscription"
        assert rule.group == group_a and not rule.is_enabled
        assert rule.reminder_enabled and rule.reminder_after_days == 5
        assert AuditLogEntry.objects.filter(org=org_a, action="autoinvite.saved").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {
                "common_conditions": _set(
                    {"field": "email", "op": "is", "value": "x"}, pattern="1 and"
                )
            },
            "common",
        ),
        (
            {
                "common_conditions": _set(
                    {"field": "email", "op": "is", "value": "x"}, pattern="1 or 2"
                )
            },
            "common",
        ),
        ({"common_conditions": _set(pattern="(" * 1000 + "1" + ")" * 1000)}, "common"),
        (
            {"common_conditions": _set({"field": "deleted_field", "op": "is", "value": "x"})},
            "common",
        ),
        ({"languages": [{"language": "fr", "conditions": _set()}]}, "languages"),
        ({"language_mode": "single"}, "languages"),  # two languages in one-language mode
        ({"trigger": "sometimes"}, "trigger"),
        ({"reminder_after_days": 0}, "reminder_after_days"),
    ],
)
def test_aut4_bad_input_is_refused_and_nothing_stored(
    org_a, portal_manager, portal_a, group_a, overrides, field
):
    """Issue 13, Bad input: a pattern that does not parse, names a missing condition or nests
    1,000 deep, a condition on a field that does not exist, a language the portal does not
    offer: a clear error on save, nothing stored."""
    with pytest.raises(ActionRefused) as refused:
        _save(org_a, portal_manager, portal_a, _input(group_a, **overrides))
    assert refused.value.field == field and refused.value.message
    with scopes_disabled():
        assert not AutoInviteRule.objects.exists()
        assert not AuditLogEntry.objects.filter(action__startswith="autoinvite").exists()


def test_aut1_group_of_another_org_or_portal_is_refused(
    org_a, org_b, portal_manager, portal_a, group_a
):
    """Issue 13, Bad input: a rule naming another org's user group or portal by id."""
    with scopes_disabled():
        other_group = UserGroupFactory(portal=PortalFactory(org=org_b))
        other_portal = PortalFactory(org=org_b)
        same_org_other_portal_group = UserGroupFactory(portal=PortalFactory(org=org_a))
    for group in (other_group, same_org_other_portal_group):
        with pytest.raises(ActionRefused) as refused:
            _save(org_a, portal_manager, portal_a, _input(group_a, group_id=group.pk))
        assert refused.value.field == "group"
    with pytest.raises(PermissionDenied):
        _save(org_a, portal_manager, other_portal, _input(group_a))
    with scopes_disabled():
        assert not AutoInviteRule.objects.exists()


def test_aut6_enable_sets_enabled_at_disable_and_delete(org_a, portal_manager, portal_a, group_a):
    """AUT-6: turning on stamps the moment (events before it are not replayed), turning off
    and deleting are audited."""
    rule = _save(org_a, portal_manager, portal_a, _input(group_a))
    before = timezone.now()
    with scopes_disabled():
        rule = rules.rule_enable(org=org_a, actor=portal_manager, rule=rule)
        assert rule.is_enabled and rule.enabled_at >= before
        rule = rules.rule_disable(org=org_a, actor=portal_manager, rule=rule)
        assert not AutoInviteRule.objects.get(pk=rule.pk).is_enabled
        again = rules.rule_enable(org=org_a, actor=portal_manager, rule=rule)
        assert again.enabled_at > rule.enabled_at
        rules.rule_delete(org=org_a, actor=portal_manager, rule=rule)
        assert not AutoInviteRule.objects.exists()
        actions = list(
            AuditLogEntry.objects.filter(action__startswith="autoinvite")
            .order_by("pk")
            .values_list("action", flat=True)
        )
    assert actions == [
        "autoinvite.saved",
        "autoinvite.enabled",
        "autoinvite.disabled",
        "autoinvite.enabled",
        "autoinvite.deleted",
    ]


def test_aut6_a_rule_naming_a_deleted_field_cannot_be_enabled(
    org_a, portal_manager, portal_a, group_a
):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="tier", label="Tier", field_type="text"
        )
    rule = _save(
        org_a,
        portal_manager,
        portal_a,
        _input(group_a, common_conditions=_set({"field": "tier", "op": "is", "value": "gold"})),
    )
    with scopes_disabled():
        CustomField.objects.filter(org=org_a, key="tier").delete()
        field_registry_changed(org_a)
        with pytest.raises(ActionRefused, match="tier"):
            rules.rule_enable(org=org_a, actor=portal_manager, rule=rule)


def test_aut1_member_without_manage_portals_is_refused_by_the_service(
    org_a, member_a, portal_a, group_a
):
    with pytest.raises(PermissionDenied):
        _save(org_a, member_a, portal_a, _input(group_a))


# --- the page -----------------------------------------------------------------------------------


def _url(name, portal, **kwargs):
    return reverse(name, kwargs={"org_slug": portal.org.slug, "portal_pk": portal.pk, **kwargs})


def _form_post(group, **extra):
    data = {
        "trigger": "create",
        "group": str(group.pk),
        "language_mode": "multiple",
        "reminder_after_days": "5",
        "common-count": "1",
        "common-0-field": "subscription",
        "common-0-op": "is",
        "common-0-value": "paid",
        "common-pattern": "",
        "language": ["ja", "en"],
        "lang-ja-use": "1",
        "lang-ja-count": "1",
        "lang-ja-0-field": "country",
        "lang-ja-0-op": "is",
        "lang-ja-0-value": "JP",
        "lang-en-use": "1",
        "lang-en-count": "0",
    }
    data.update(extra)
    return data


def test_aut1_settings_page_saves_a_two_language_rule(portal_manager, portal_a, group_a):
    client = client_for(portal_manager)
    page = client.get(_url("autoinvite_settings", portal_a))
    assert page.status_code == 200
    assert b'id="rule-editor"' in page.content and b"Failed invitations" in page.content
    response = client.post(_url("autoinvite_settings", portal_a), _form_post(group_a))
    assert response.status_code == 302
    with scopes_disabled():
        rule = AutoInviteRule.objects.get(portal=portal_a)
    assert rule.trigger == "create" and [e["language"] for e in rule.languages] == ["ja", "en"]
    assert rule.languages[0]["conditions"]["conditions"][0]["value"] == "JP"
    shown = client.get(_url("autoinvite_settings", portal_a)).content.decode()
    assert 'value="JP"' in shown and shown.index("lang-ja-block") < shown.index("lang-en-block")


def test_aut4_settings_page_shows_a_bad_pattern_and_stores_nothing(
    portal_manager, portal_a, group_a
):
    client = client_for(portal_manager)
    response = client.post(
        _url("autoinvite_settings", portal_a), _form_post(group_a, **{"common-pattern": "1 or 7"})
    )
    assert response.status_code == 400
    assert b'id="common-error"' in response.content and b"7" in response.content
    with scopes_disabled():
        assert not AutoInviteRule.objects.exists()


def test_aut4_builder_adds_and_removes_rows_and_fits_operators_to_the_field(
    org_a, portal_manager, portal_a, group_a
):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="seats", label="Seats", field_type="number"
        )
    client = client_for(portal_manager)
    url = _url("autoinvite_builder", portal_a)
    added = client.post(url, _form_post(group_a, builder="add:common"), HTTP_HX_REQUEST="true")
    assert added.status_code == 200
    html = added.content.decode()
    assert html.startswith('<div id="rule-editor">')  # the editor alone, no full page
    assert 'id="common-1-field"' in html and "<html" not in html
    number = client.post(
        url, _form_post(group_a, **{"common-0-field": "seats", "common-0-op": "between"})
    ).content.decode()
    assert 'id="common-0-value2"' in number and 'type="number"' in number
    assert 'value="contains"' not in number.split('id="common-0-op"')[1].split("</select>")[0]
    removed = client.post(url, _form_post(group_a, builder="remove:common:0")).content.decode()
    assert 'id="common-0-field"' not in removed
    moved = client.post(url, _form_post(group_a, builder="down:ja")).content.decode()
    assert moved.index("lang-en-block") < moved.index("lang-ja-block")
    with scopes_disabled():
        assert not AutoInviteRule.objects.exists()  # a builder step saves nothing


def test_aut4_pattern_checked_as_typed(portal_manager, portal_a):
    client = client_for(portal_manager)
    url = _url("autoinvite_pattern", portal_a)
    good = client.get(url, {"set": "common", "common-pattern": "(1 and 2) or 3", "common-count": 3})
    assert good.status_code == 200 and good.content == b""
    bad = client.get(url, {"set": "common", "common-pattern": "1 and", "common-count": 3})
    assert bad.content
    hostile = client.get(url, {"set": "common", "common-pattern": "<b>x</b>", "common-count": 1})
    assert b"<b>" not in hostile.content


def test_aut1_seven_day_counts_on_the_page(org_a, portal_manager, portal_a):
    """AUT-1 visibility (issue 13, point 9): the last seven days summed, the eighth left out."""
    today = timezone.localdate()
    with scopes_disabled():
        for age, sent in ((0, 3), (6, 4), (7, 100)):
            AutoInviteDay.objects.create(
                org=org_a,
                portal=portal_a,
                day=today - datetime.timedelta(days=age),
                evaluated=10,
                sent=sent,
                accepted=1,
                reminded=2,
            )
    html = client_for(portal_manager).get(_url("autoinvite_settings", portal_a)).content.decode()
    assert 'data-count="sent">7<' in html and 'data-count="evaluated">20<' in html
    assert 'data-count="reminded">4<' in html


def test_aut6_banner_while_editing_an_enabled_rule_and_invalid_reason(
    org_a, portal_manager, portal_a, group_a
):
    rule = _save(org_a, portal_manager, portal_a, _input(group_a))
    client = client_for(portal_manager)
    assert (
        b"autoinvite-editing-banner"
        not in client.get(_url("autoinvite_settings", portal_a)).content
    )
    client.post(_url("autoinvite_toggle", portal_a))
    assert b"autoinvite-editing-banner" in client.get(_url("autoinvite_settings", portal_a)).content
    with scopes_disabled():
        AutoInviteRule.objects.filter(pk=rule.pk).update(
            is_enabled=False, invalid_reason="The field Tier was deleted."
        )
    html = client.get(_url("autoinvite_settings", portal_a)).content.decode()
    assert "The field Tier was deleted." in html
    portal_page = client.get(_url("portal_detail", portal_a)).content.decode()
    assert 'id="autoinvite-invalid"' in portal_page and "The field Tier was deleted." in portal_page


def test_aut6_delete_asks_first(org_a, portal_manager, portal_a, group_a):
    _save(org_a, portal_manager, portal_a, _input(group_a))
    client = client_for(portal_manager)
    confirm = client.get(_url("autoinvite_delete", portal_a))
    assert confirm.status_code == 200 and b"autoinvite-delete-confirm" in confirm.content
    with scopes_disabled():
        assert AutoInviteRule.objects.exists()
    assert client.post(_url("autoinvite_delete", portal_a)).status_code == 302
    with scopes_disabled():
        assert not AutoInviteRule.objects.exists()


def test_aut1_outsider_404_member_403_wrong_method_405(
    client_admin_b, client_member_a, portal_manager, portal_a
):
    url = _url("autoinvite_settings", portal_a)
    assert client_admin_b.get(url).status_code == 404
    assert client_member_a.get(url).status_code == 403
    client = client_for(portal_manager)
    assert client.put(url).status_code == 405
    assert client.get(_url("autoinvite_builder", portal_a)).status_code == 405
    assert client.get(_url("autoinvite_toggle", portal_a)).status_code == 405


def test_aut1_page_in_japanese(portal_manager, portal_a, group_a):
    """X-1: the Auto-invite tab reads in Japanese."""
    user = portal_manager.user
    user.language = "ja"
    user.save(update_fields=["language"])
    html = client_for(portal_manager).get(_url("autoinvite_settings", portal_a)).content.decode()
    with translation.override("ja"):
        common = gettext("Common conditions")
    assert "自動招待" in html and common in html and "Common conditions" not in html


def test_aut4_one_of_on_a_text_field_takes_values_separated_by_semicolons(
    portal_manager, portal_a, group_a
):
    client = client_for(portal_manager)
    post = _form_post(
        group_a,
        **{"common-0-field": "city", "common-0-op": "one_of", "common-0-value": "Osaka;Kyoto"},
    )
    assert client.post(_url("autoinvite_settings", portal_a), post).status_code == 302
    with scopes_disabled():
        rule = AutoInviteRule.objects.get(portal=portal_a)
    assert rule.common_conditions["conditions"][0]["value"] == ["Osaka", "Kyoto"]
    html = client.get(_url("autoinvite_settings", portal_a)).content.decode()
    assert 'value="Osaka;Kyoto"' in html
