"""MAIL-1: the mail add-on's admin page; MAIL-3: its lock / unlock buttons with confirmation.
(Outsiders, members without the permission and wrong methods: tests/test_permission_matrix.py
and tests/test_tenant_walk.py.)"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mailoptions.models import Mailbox
from tests.mailoptions.factories import mailbox_of
from tests.users.factories import CrmUserFactory, builtin_profile
from users.models import AuditLogEntry, CrmUser, Profile


def url(org, name="mail_user_list", **kwargs):
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


@pytest.fixture
def cast(org_a, admin_a, member_a):
    with scopes_disabled():
        sato = CrmUserFactory(org=org_a, first_name="Hana", last_name="Sato")
        gone = CrmUserFactory(
            org=org_a, first_name="Gone", last_name="Away", status=CrmUser.Status.DEACTIVATED
        )
    return {
        "member": mailbox_of(
            member_a,
            last_sync_at=timezone.now(),
            last_sync_result="failed",
            last_sync_error="login_failed",
        ),
        "sato": mailbox_of(sato, sharing=Mailbox.Sharing.DONT_SHARE, last_sync_result="ok"),
        "gone": mailbox_of(gone, sharing=Mailbox.Sharing.SHARE_ALL),
    }


def test_mail1_lists_active_users_with_mailbox_sharing_lock_and_last_sync(
    client_admin_a, org_a, cast
):
    body = client_admin_a.get(url(org_a)).content.decode()
    assert "Mark Member" in body and "Hana Sato" in body and "Gone Away" not in body
    assert "Record-level sharing" in body and "Don&#x27;t share" in body
    assert "IMAP (TLS)" in body and "Not locked" in body
    assert "The mail server refused the login or the password." in body
    assert "A user whose sharing is “Don&#x27;t share” can&#x27;t be locked." in body
    assert url(org_a, "mail_user_lock", mailbox_pk=cast["member"].pk) in body
    assert url(org_a, "mail_user_lock", mailbox_pk=cast["sato"].pk) not in body


def test_mail1_deactivated_users_tab(client_admin_a, org_a, cast):
    body = client_admin_a.get(url(org_a), {"status": "deactivated"}).content.decode()
    assert "Gone Away" in body and "Share all" in body and "Mark Member" not in body
    assert "Not backed up" in body


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"q": "sato"}, "Hana Sato", "Mark Member"),
        ({"sharing": "dont_share"}, "Hana Sato", "Mark Member"),
        ({"result": "failed"}, "Mark Member", "Hana Sato"),
        ({"lock": "locked"}, "No mailbox matches these filters.", "Mark Member"),
        ({"sharing": "\x00' OR 1=1", "lock": "x" * 5000, "page": "-1"}, "Mark Member", "Gone"),
    ],
)
def test_mail1_filters_and_search(client_admin_a, org_a, cast, params, shown, hidden):
    response = client_admin_a.get(url(org_a), params)
    body = response.content.decode()
    assert response.status_code == 200
    assert shown in body and hidden not in body


def test_mail1_the_list_runs_a_fixed_number_of_statements(
    client_admin_a, org_a, cast, django_assert_num_queries
):
    client_admin_a.get(url(org_a))  # the session and the nav, warmed

    def statements(status):
        with CaptureQueriesContext(connection) as queries:
            assert client_admin_a.get(url(org_a), {"status": status}).status_code == 200
        return len(queries)

    before = {status: statements(status) for status in ("active", "deactivated")}
    with scopes_disabled():
        for n in range(15):
            active = CrmUserFactory(org=org_a)
            mailbox_of(active, locked=bool(n % 2))
            gone = CrmUserFactory(org=org_a, status=CrmUser.Status.DEACTIVATED)
            mailbox_of(gone)
    with django_assert_num_queries(before["active"]):
        client_admin_a.get(url(org_a))
    with django_assert_num_queries(before["deactivated"]):
        client_admin_a.get(url(org_a), {"status": "deactivated"})


def test_mail3_lock_asks_for_confirmation_then_locks(client_admin_a, org_a, cast, admin_a):
    lock_url = url(org_a, "mail_user_lock", mailbox_pk=cast["member"].pk)
    page = client_admin_a.get(lock_url).content.decode()
    assert "Lock the mail settings of Mark Member?" in page
    cast["member"].refresh_from_db()
    assert not cast["member"].locked  # GET changes nothing

    response = client_admin_a.post(lock_url, follow=True)

    cast["member"].refresh_from_db()
    assert cast["member"].locked
    assert "Mark Member&#x27;s mail settings are locked." in response.content.decode()
    with scopes_disabled():
        assert AuditLogEntry.objects.filter(action="mail.locked", actor=admin_a).exists()
    body = client_admin_a.get(url(org_a)).content.decode()
    assert url(org_a, "mail_user_unlock", mailbox_pk=cast["member"].pk) in body

    client_admin_a.post(url(org_a, "mail_user_unlock", mailbox_pk=cast["member"].pk))
    cast["member"].refresh_from_db()
    assert not cast["member"].locked


def test_mail3_a_refused_lock_shows_the_reason_and_changes_nothing(client_admin_a, org_a, cast):
    response = client_admin_a.post(url(org_a, "mail_user_lock", mailbox_pk=cast["sato"].pk))
    assert response.status_code == 200
    assert "can&#x27;t be locked" in response.content.decode()
    cast["sato"].refresh_from_db()
    assert not cast["sato"].locked


def test_mail3_self_lock_with_two_admins_is_refused_on_the_page(client_admin_a, org_a, admin_a):
    with scopes_disabled():
        CrmUserFactory(org=org_a, profile=builtin_profile(org_a, Profile.ADMINISTRATOR))
    mine = mailbox_of(admin_a)
    body = client_admin_a.get(url(org_a)).content.decode()
    assert "you can&#x27;t lock your own mail settings" in body
    response = client_admin_a.post(url(org_a, "mail_user_lock", mailbox_pk=mine.pk))
    assert "you can&#x27;t lock your own mail settings" in response.content.decode()
    mine.refresh_from_db()
    assert not mine.locked


def test_mail1_japanese(client_admin_a, org_a, cast, admin_a):
    admin_a.user.language = "ja"
    admin_a.user.save()
    client_admin_a.post("/language/", {"language": "ja"})
    body = client_admin_a.get(url(org_a)).content.decode()
    assert "メールアドオンのユーザー" in body and "ロック" in body


def test_usr6_the_user_page_shows_the_mail_add_on(client_admin_a, org_a, member_a, cast):
    detail = reverse("user_detail", kwargs={"org_slug": org_a.slug, "user_pk": member_a.pk})
    body = client_admin_a.get(detail).content.decode()
    assert 'id="member-addons">Mail' in body and "Record-level sharing" in body
