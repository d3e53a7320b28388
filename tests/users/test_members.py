"""Running the team (USR-1, USR-3, USR-5, USR-7, ORG-1, ORG-2, ORG-5, USR-9)."""

import re

import pytest
from django.core import mail
from django.test import Client
from django_scopes import scopes_disabled

from tests.conftest import client_for
from tests.users.factories import PASSWORD, CrmUserFactory, builtin_profile, role_named
from users.models import AuditLogEntry, CrmUser, Profile


def users_url(org, suffix=""):
    return f"/o/{org.slug}/users/{suffix}"


def new_user_data(org, **overrides):
    data = {
        "first_name": "Kenji",
        "last_name": "Sato",
        "email": "kenji@example.jp",
        "role": role_named(org, "Manager").pk,
        "profile": builtin_profile(org, Profile.STANDARD).pk,
    }
    return {**data, **overrides}


def add_user(client, org, capture, **overrides):
    with capture(execute=True):
        return client.post(users_url(org, "new/"), new_user_data(org, **overrides))


def member(org, email):
    with scopes_disabled():
        return CrmUser.objects.select_related("invitation").get(org=org, email=email)


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", message.body).group(1)


def test_usr3_add_user_invites_them_and_lists_them_unconfirmed(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    response = add_user(client_admin_a, org_a, django_capture_on_commit_callbacks)
    kenji = member(org_a, "kenji@example.jp")
    assert response["Location"] == users_url(org_a, f"{kenji.pk}/")
    assert (kenji.status, kenji.role.name, kenji.profile.name) == (
        "unconfirmed",
        "Manager",
        "Standard",
    )
    [invitation_mail] = mail.outbox
    assert invitation_mail.to == ["kenji@example.jp"]
    assert "Alpha Corp" in invitation_mail.subject
    listing = client_admin_a.get(users_url(org_a, "?status=unconfirmed")).content.decode()
    assert "Kenji Sato" in listing and "expires" in listing
    with scopes_disabled():
        entry = AuditLogEntry.objects.get(org=org_a, action="user.added")
    assert (entry.actor_id, entry.target_id, entry.ip_address) == (
        admin_a.pk,
        kenji.pk,
        "127.0.0.1",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"last_name": ""}, "This field is required."),
        ({"role": ""}, "This field is required."),
        ({"profile": ""}, "This field is required."),
        ({"role": "999999"}, "Select a valid choice."),
    ],
)
def test_usr3_bad_input_keeps_typed_values_and_writes_nothing(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks, overrides, message
):
    response = add_user(client_admin_a, org_a, django_capture_on_commit_callbacks, **overrides)
    body = response.content.decode()
    assert response.status_code == 200 and message in body
    assert 'value="Kenji"' in body
    with scopes_disabled():
        assert not CrmUser.objects.filter(org=org_a, first_name="Kenji").exists()
    assert mail.outbox == []


def test_usr3_duplicate_email_in_the_org_is_refused(
    client_admin_a, org_a, member_a, django_capture_on_commit_callbacks
):
    response = add_user(
        client_admin_a, org_a, django_capture_on_commit_callbacks, email=member_a.email.upper()
    )
    assert f"{member_a.email} is already a user of this organisation." in response.content.decode()
    with scopes_disabled():
        assert CrmUser.objects.filter(org=org_a).count() == 2
    assert mail.outbox == []


def test_usr3_role_of_another_org_is_not_a_choice(
    client_admin_a, org_a, org_b, admin_b, django_capture_on_commit_callbacks
):
    response = add_user(
        client_admin_a,
        org_a,
        django_capture_on_commit_callbacks,
        role=role_named(org_b, "Manager").pk,
    )
    assert "Select a valid choice." in response.content.decode()


def test_usr3_validation_messages_in_japanese(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    client_admin_a.post("/language/", {"language": "ja"})
    response = add_user(
        client_admin_a, org_a, django_capture_on_commit_callbacks, email="nope", last_name=""
    )
    body = response.content.decode()
    assert "有効なメールアドレスを入力してください。" in body
    assert "このフィールドは必須です。" in body


def test_usr3_standard_user_gets_403_and_changes_nothing(
    client_member_a, org_a, member_a, django_capture_on_commit_callbacks
):
    assert client_member_a.get(users_url(org_a)).status_code == 403
    response = add_user(client_member_a, org_a, django_capture_on_commit_callbacks)
    assert response.status_code == 403
    with scopes_disabled():
        assert not CrmUser.objects.filter(email="kenji@example.jp").exists()
    for suffix in (f"{member_a.pk}/deactivate/", f"{member_a.pk}/delete/", "reinvite-held/"):
        assert client_member_a.post(users_url(org_a, suffix)).status_code == 403


def test_org5_free_plan_allows_three_users_and_shows_used_over_available(
    client_admin_a, org_a, admin_a, member_a, django_capture_on_commit_callbacks
):
    assert "Licences: 2 of 3 used · 1 free" in client_admin_a.get(users_url(org_a)).content.decode()
    add_user(client_admin_a, org_a, django_capture_on_commit_callbacks)
    response = add_user(
        client_admin_a,
        org_a,
        django_capture_on_commit_callbacks,
        email="fourth@example.jp",
        first_name="Fourth",
    )
    body = response.content.decode()
    assert "No licence left: 3 of 3 in use." in body and 'value="Fourth"' in body
    with scopes_disabled():
        assert not CrmUser.objects.filter(email="fourth@example.jp").exists()


def test_org5_paid_plan_uses_purchased_licences_and_deactivation_frees_one(
    client_admin_a, org_a, admin_a, member_a, django_capture_on_commit_callbacks
):
    org_a.plan, org_a.purchased_licences = "paid", 2
    org_a.save()
    refused = add_user(client_admin_a, org_a, django_capture_on_commit_callbacks)
    assert "No licence left: 2 of 2 in use." in refused.content.decode()
    client_admin_a.post(users_url(org_a, f"{member_a.pk}/deactivate/"))
    add_user(client_admin_a, org_a, django_capture_on_commit_callbacks)
    assert member(org_a, "kenji@example.jp").status == "unconfirmed"
    activate = client_admin_a.post(users_url(org_a, f"{member_a.pk}/activate/"), follow=True)
    assert "No licence left" in activate.content.decode()


def test_org2_unverified_org_holds_invitations_until_re_invite_all_held(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    org_a.verified_at = None
    org_a.save()
    add_user(client_admin_a, org_a, django_capture_on_commit_callbacks)
    kenji = member(org_a, "kenji@example.jp")
    assert kenji.invitation.status == "held" and kenji.invitation.token_hash is None
    assert mail.outbox == []
    listing = client_admin_a.get(users_url(org_a, "?status=unconfirmed")).content.decode()
    assert "held: organisation not verified" in listing
    refused = client_admin_a.post(users_url(org_a, "reinvite-held/"), follow=True)
    assert "invitations stay held until the organisation is verified" in refused.content.decode()

    from django.utils import timezone

    org_a.verified_at = timezone.now()
    org_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        done = client_admin_a.post(users_url(org_a, "reinvite-held/"), follow=True)
    assert "1 held invitation sent." in done.content.decode()
    assert [m.to for m in mail.outbox] == [["kenji@example.jp"]]
    assert member(org_a, "kenji@example.jp").invitation.status == "sent"


def test_usr5_reinvite_kills_old_link(
    client, client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    add_user(client_admin_a, org_a, django_capture_on_commit_callbacks)
    old_link = link_in(mail.outbox[0])
    kenji = member(org_a, "kenji@example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        client_admin_a.post(users_url(org_a, f"{kenji.pk}/reinvite/"))
    new_link = link_in(mail.outbox[1])
    assert new_link != old_link
    assert client.get(old_link).status_code == 404
    assert client.get(new_link).status_code == 200
    assert member(org_a, "kenji@example.jp").invitation.sent_count == 2


def test_usr5_bulk_reinvite_sends_one_link_each(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    org_a.plan, org_a.purchased_licences = "paid", 10
    org_a.save()
    for n in range(3):
        add_user(
            client_admin_a, org_a, django_capture_on_commit_callbacks, email=f"u{n}@example.jp"
        )
    ids = [member(org_a, f"u{n}@example.jp").pk for n in range(2)]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_admin_a.post(users_url(org_a, "reinvite/"), {"users": ids}, follow=True)
    assert "2 invitations sent." in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["u0@example.jp", "u1@example.jp"]


def test_usr5_deactivated_user_must_be_activated_before_reinvite(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    add_user(client_admin_a, org_a, django_capture_on_commit_callbacks)
    kenji = member(org_a, "kenji@example.jp")
    client_admin_a.post(users_url(org_a, f"{kenji.pk}/deactivate/"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        single = client_admin_a.post(users_url(org_a, f"{kenji.pk}/reinvite/"), follow=True)
        bulk = client_admin_a.post(
            users_url(org_a, "reinvite/"), {"users": [kenji.pk]}, follow=True
        )
    for response in (single, bulk):
        assert "Activate Kenji Sato before re-inviting." in response.content.decode()
    assert mail.outbox == []


def test_usr7_deactivation_ends_the_users_sessions_at_once(
    client_admin_a, org_a, admin_a, member_a
):
    victim = Client()  # signs in through the login form, as a person does
    victim.post("/accounts/login/", {"login": member_a.email, "password": PASSWORD})
    assert victim.get(f"/o/{org_a.slug}/").status_code == 200
    response = client_admin_a.post(users_url(org_a, f"{member_a.pk}/deactivate/"), follow=True)
    assert "was deactivated and signed out everywhere" in response.content.decode()
    after = victim.get(f"/o/{org_a.slug}/")
    assert after.status_code == 302 and after["Location"].startswith("/accounts/login/")
    assert member(org_a, member_a.email).status == "deactivated"


def test_usr7_nobody_deactivates_themself_or_the_super_admin(
    client_admin_a, org_a, admin_a, member_a
):
    with scopes_disabled():
        other_admin = CrmUserFactory(org=org_a, profile=builtin_profile(org_a, "administrator"))
    client = client_for(other_admin)
    on_super = client.post(users_url(org_a, f"{admin_a.pk}/deactivate/"), follow=True)
    assert "The super admin cannot be deactivated." in on_super.content.decode()
    on_self = client.post(users_url(org_a, f"{other_admin.pk}/deactivate/"), follow=True)
    assert "You cannot deactivate yourself." in on_self.content.decode()
    assert client.post(users_url(org_a, f"{admin_a.pk}/delete/"), follow=True).status_code == 200
    assert member(org_a, admin_a.email).status == "active"
    assert member(org_a, other_admin.email).status == "active"


def test_usr1_last_active_administrator_cannot_be_demoted(client_admin_a, org_a, admin_a):
    with scopes_disabled():
        other_admin = CrmUserFactory(org=org_a, profile=builtin_profile(org_a, "administrator"))
    standard = builtin_profile(org_a, Profile.STANDARD)
    manager = role_named(org_a, "Manager")
    data = {"role": manager.pk, "profile": standard.pk}
    response = client_admin_a.post(users_url(org_a, f"{admin_a.pk}/access/"), data)
    assert "The super admin always has the Administrator profile." in response.content.decode()
    client_admin_a.post(users_url(org_a, f"{other_admin.pk}/access/"), data)
    assert member(org_a, other_admin.email).profile == standard
    # Now transfer super admin away and try to demote the last admin.
    with scopes_disabled():
        admin_a.is_super_admin = False
        admin_a.save()
    response = client_admin_a.post(users_url(org_a, f"{admin_a.pk}/access/"), data)
    assert "is the last active administrator" in response.content.decode()
    assert member(org_a, admin_a.email).profile.is_administrator


def test_usr7_delete_user_after_confirmation(client_admin_a, org_a, admin_a, member_a):
    confirm = client_admin_a.get(users_url(org_a, f"{member_a.pk}/delete/"))
    assert "This cannot be undone." in confirm.content.decode()
    assert member(org_a, member_a.email)  # a GET deletes nothing
    response = client_admin_a.post(users_url(org_a, f"{member_a.pk}/delete/"), follow=True)
    assert "was deleted." in response.content.decode()
    with scopes_disabled():
        assert not CrmUser.objects.filter(pk=member_a.pk).exists()
        assert AuditLogEntry.objects.filter(
            action="user.deleted", target_label__contains=member_a.email
        ).exists()


def test_org1_super_admin_transfer(client_admin_a, org_a, admin_a, member_a):
    """ORG-1, issue 11: the transfer moved to the organisation settings (ORG-7)."""
    transfer_url = f"/o/{org_a.slug}/settings/super-admin/"
    refused = client_admin_a.post(transfer_url, {"to": member_a.pk}, follow=True)
    assert "Only an active user with the Administrator profile" in refused.content.decode()
    with scopes_disabled():
        member_a.profile = builtin_profile(org_a, "administrator")
        member_a.save()
    client_admin_a.post(transfer_url, {"to": member_a.pk})
    assert member(org_a, member_a.email).is_super_admin
    assert not member(org_a, admin_a.email).is_super_admin
    # The former super admin can no longer hand the role on.
    assert client_admin_a.get(transfer_url).status_code == 403


def test_usr7_wrong_methods_are_refused(client_admin_a, org_a, member_a):
    for suffix in (
        f"{member_a.pk}/reinvite/",
        f"{member_a.pk}/activate/",
        "reinvite/",
        "reinvite-held/",
    ):
        assert client_admin_a.get(users_url(org_a, suffix)).status_code == 405
    assert client_admin_a.delete(users_url(org_a, f"{member_a.pk}/")).status_code == 405


def test_usr3_user_list_query_count_does_not_grow(
    client_admin_a, org_a, admin_a, django_assert_max_num_queries
):
    org_a.plan, org_a.purchased_licences = "paid", 100
    org_a.save()
    with scopes_disabled():
        CrmUserFactory.create_batch(3, org=org_a)
    with django_assert_max_num_queries(14) as few:
        client_admin_a.get(users_url(org_a))
    with scopes_disabled():
        CrmUserFactory.create_batch(20, org=org_a)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client_admin_a.get(users_url(org_a))
