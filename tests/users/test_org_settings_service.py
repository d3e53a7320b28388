"""The services behind the organisation settings (ORG-7, X-3; issue 11): who may call them,
what they refuse, what they store and audit."""

import pytest
from django.core.exceptions import PermissionDenied
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from tests.users.factories import CrmUserFactory, builtin_profile
from users.models import AuditLogEntry, CrmUser, Organization
from users.selectors import licence_summary
from users.services.org_settings import (
    organization_change_idle_timeout,
    organization_change_locale,
    organization_change_slug,
    organization_rename,
)


def stored(org) -> Organization:
    return Organization.objects.get(pk=org.pk)


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(AuditLogEntry.objects.filter(org=org).values_list("action", flat=True))


def test_org7_rename_strips_and_audits_only_a_change(org_a, admin_a):
    organization_rename(org=org_a, actor=admin_a, name=" Alpha Corp ", ip="192.0.2.1")
    assert actions(org_a) == []  # the same name after trimming: nothing to record
    organization_rename(org=org_a, actor=admin_a, name="Alpha KK", ip="192.0.2.1")
    assert stored(org_a).name == "Alpha KK"
    with scopes_disabled():
        entry = AuditLogEntry.objects.get(org=org_a, action="org.renamed")
    assert (entry.details, entry.ip_address, entry.actor_id) == (
        {"old": "Alpha Corp", "new": "Alpha KK"},
        "192.0.2.1",
        admin_a.pk,
    )


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_org7_rename_refuses_empty_and_overlong_names(org_a, admin_a, name):
    with pytest.raises(ActionRefused) as refused:
        organization_rename(org=org_a, actor=admin_a, name=name)
    assert refused.value.field == "name"
    assert stored(org_a).name == "Alpha Corp"


def test_org7_only_active_administrators_of_the_org_change_settings(org_a, member_a, admin_b):
    """ORG-7, USR-1: a Standard member, another org's admin and a deactivated admin are
    refused by the services themselves, whatever a view lets through."""
    with scopes_disabled():
        gone = CrmUserFactory(
            org=org_a,
            profile=builtin_profile(org_a, "administrator"),
            status=CrmUser.Status.DEACTIVATED,
        )
    for actor in (member_a, admin_b, gone):
        with pytest.raises(PermissionDenied):
            organization_rename(org=org_a, actor=actor, name="Mallory")
        with pytest.raises(PermissionDenied):
            organization_change_slug(org=org_a, actor=actor, slug="mallory")
        with pytest.raises(PermissionDenied):
            organization_change_locale(org=org_a, actor=actor, time_zone="UTC", language="ja")
        with pytest.raises(PermissionDenied):
            organization_change_idle_timeout(org=org_a, actor=actor, idle_timeout_minutes=5)
    org = stored(org_a)
    assert (org.name, org.slug, org.language, org.idle_timeout_minutes) == (
        "Alpha Corp",
        "alpha",
        "en",
        None,
    )


def test_org7_an_administrator_who_is_not_super_admin_may_change_settings(org_a):
    with scopes_disabled():
        admin = CrmUserFactory(org=org_a, profile=builtin_profile(org_a, "administrator"))
    organization_rename(org=org_a, actor=admin, name="Alpha by Ada")
    assert stored(org_a).name == "Alpha by Ada"


def test_org7_slug_is_lowercased_unique_and_audited(org_a, admin_a, org_b):
    organization_change_slug(org=org_a, actor=admin_a, slug=" Alpha-2026 ")
    assert stored(org_a).slug == "alpha-2026"
    with pytest.raises(ActionRefused, match="This address is taken") as refused:
        organization_change_slug(org=org_a, actor=admin_a, slug="beta")
    assert refused.value.field == "slug"
    assert stored(org_a).slug == "alpha-2026"
    assert actions(org_a) == ["org.slug_changed"]


@pytest.mark.parametrize("slug", ["a", "ab", "a_b", "a b", "-abc", "abc-", "日本語", "x" * 61, ""])
def test_org7_slug_refuses_what_is_no_address(org_a, admin_a, slug):
    with pytest.raises(ActionRefused, match="Use 3 to 60 lowercase letters"):
        organization_change_slug(org=org_a, actor=admin_a, slug=slug)
    assert stored(org_a).slug == "alpha"


def test_org7_locale_refuses_unknown_values_and_writes_nothing(org_a, admin_a):
    with pytest.raises(ActionRefused) as refused:
        organization_change_locale(
            org=org_a, actor=admin_a, time_zone="Atlantis/Capital", language="ja"
        )
    assert refused.value.field == "time_zone"
    with pytest.raises(ActionRefused) as refused:
        organization_change_locale(org=org_a, actor=admin_a, time_zone="UTC", language="xx")
    assert refused.value.field == "language"
    org = stored(org_a)
    assert (org.time_zone, org.language, actions(org_a)) == ("UTC", "en", [])


def test_org7_locale_audits_each_change_once(org_a, admin_a, member_a):
    with scope(org=org_a):  # as in a view
        organization_change_locale(org=org_a, actor=admin_a, time_zone="Asia/Tokyo", language="en")
    assert actions(org_a) == ["org.time_zone_changed"]
    with scopes_disabled():
        assert set(CrmUser.objects.filter(org=org_a).values_list("time_zone", flat=True)) == {
            "Asia/Tokyo"
        }
    with scope(org=org_a):
        organization_change_locale(org=org_a, actor=admin_a, time_zone="Asia/Tokyo", language="ja")
    assert actions(org_a) == ["org.language_changed", "org.time_zone_changed"]


@pytest.mark.parametrize(("typed", "kept"), [(5, 5), (1440, 1440), (0, None), (None, None)])
def test_x3_idle_timeout_bounds_and_off(org_a, admin_a, typed, kept):
    organization_change_idle_timeout(org=org_a, actor=admin_a, idle_timeout_minutes=typed)
    assert stored(org_a).idle_timeout_minutes == kept


@pytest.mark.parametrize("typed", [4, 1441, 10**20])
def test_x3_idle_timeout_out_of_bounds_is_refused(org_a, admin_a, typed):
    with pytest.raises(ActionRefused, match="from 5 to 1440") as refused:
        organization_change_idle_timeout(org=org_a, actor=admin_a, idle_timeout_minutes=typed)
    assert refused.value.field == "idle_timeout_minutes"
    assert stored(org_a).idle_timeout_minutes is None


def test_org5_licence_summary(org_a, admin_a, member_a):
    """ORG-5: the figures of "2 of 3 used · 1 free"; deactivated users free their licence."""
    with scope(org=org_a):
        assert licence_summary(org_a) == {"used": 2, "limit": 3, "free": 1}
        CrmUser.objects.filter(pk=member_a.pk).update(status=CrmUser.Status.DEACTIVATED)
        assert licence_summary(org_a) == {"used": 1, "limit": 3, "free": 2}
