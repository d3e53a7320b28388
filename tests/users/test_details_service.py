"""USR-6 rules in the service itself, whatever the caller (form, import, API)."""

import pytest
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from users.models import AuditLogEntry, CrmUser
from users.services.members import crm_user_details_update


def fresh(membership):
    with scopes_disabled():
        return CrmUser.objects.get(pk=membership.pk)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"locale": "xx_XX"}, "locale"),
        ({"locale": "ja_JP", "date_format": "m/d/Y"}, "date_format"),
        ({"time_format": "13"}, "time_format"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"website": "javascript:alert(1)"}, "website"),
    ],
)
def test_usr6_service_refuses_unknown_preferences_and_writes_nothing(
    org_a, admin_a, member_a, data, field
):
    with scope(org=org_a), pytest.raises(ActionRefused) as refused:
        crm_user_details_update(org=org_a, actor=admin_a, membership=fresh(member_a), data=data)
    assert refused.value.field == field
    stored = fresh(member_a)
    assert (stored.locale, stored.date_format, stored.time_zone) == ("en_US", "", "UTC")
    with scopes_disabled():
        assert not AuditLogEntry.objects.filter(action="user.details_changed").exists()


def test_usr6_unchanged_details_write_no_audit_noise(org_a, admin_a, member_a):
    with scope(org=org_a):
        crm_user_details_update(
            org=org_a, actor=admin_a, membership=fresh(member_a), data={"time_zone": "UTC"}
        )
    with scopes_disabled():
        assert not AuditLogEntry.objects.filter(action="user.details_changed").exists()
