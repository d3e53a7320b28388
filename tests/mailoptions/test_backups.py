"""MAIL-2 (backup of a deactivated user's mail), MAIL-4 (latest backup refused with the reason)
and MAIL-6 (audited), with the backup's visibility for a user of a lower role (USR-2)."""

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from mailoptions.backups import mailbox_backup_start
from mailoptions.models import ArchivedMessage, MailBackup, Mailbox
from mailoptions.services import mailbox_connect
from tests.conftest import client_for
from tests.mailoptions.conftest import connect, mail
from tests.mailoptions.factories import mailbox_of
from tests.mailoptions.test_sync import sync
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, role_named
from users.models import AuditLogEntry, CrmUser, Role
from users.services.members import crm_user_activate


def deactivate(membership):
    with scopes_disabled():
        CrmUser.objects.filter(pk=membership.pk).update(status=CrmUser.Status.DEACTIVATED)
    membership.refresh_from_db()


def start(mailbox, actor, django_capture_on_commit_callbacks):
    with scope(org=actor.org), django_capture_on_commit_callbacks(execute=True):
        return mailbox_backup_start(mailbox=mailbox, actor=actor)


@pytest.fixture
def synced(org_a, member_a, dovecot, imap_account):
    """member_a's mailbox (login on admin_a's domain), three messages of which two are linked
    to a contact, then member_a deactivated."""
    with scopes_disabled():
        contact = ContactFactory(org=org_a, owner=member_a, email="kaito@example.jp")
    dovecot.deliver(
        imap_account[0],
        [mail(1, sender="kaito@example.jp"), mail(2, cc=["KAITO@example.jp"]), mail(3)],
    )
    mailbox = connect(member_a, dovecot, *imap_account)  # its domain: member_a's, example.com
    sync(mailbox)
    deactivate(member_a)
    mailbox.refresh_from_db()
    return mailbox, contact


def test_mail2_backup_keeps_record_linked_messages_readable_and_is_idempotent(
    synced, admin_a, org_a, django_capture_on_commit_callbacks
):
    mailbox, contact = synced
    backup = start(mailbox, admin_a, django_capture_on_commit_callbacks)
    backup.refresh_from_db()
    assert backup.status == MailBackup.Status.COMPLETED and backup.done == backup.total == 2
    with scopes_disabled():
        assert ArchivedMessage.objects.filter(org=org_a).count() == 2
    again = start(mailbox, admin_a, django_capture_on_commit_callbacks)
    again.refresh_from_db()
    assert again.status == "completed"
    with scopes_disabled():
        assert ArchivedMessage.objects.filter(org=org_a).count() == 2
        actions = list(
            AuditLogEntry.objects.filter(org=org_a, action__startswith="mail.backup").values_list(
                "action", flat=True
            )
        )
    assert sorted(actions) == sorted(["mail.backup_started", "mail.backup_completed"] * 2)


def test_mail2_backup_visibility_follows_the_records_for_a_lower_role(
    synced, admin_a, org_a, client_admin_a, django_capture_on_commit_callbacks
):
    mailbox, contact = synced
    url = reverse("contact_detail", kwargs={"org_slug": org_a.slug, "contact_pk": contact.pk})
    assert "Message 1" not in client_admin_a.get(url).content.decode()  # owner deactivated

    start(mailbox, admin_a, django_capture_on_commit_callbacks)

    assert "Message 1" in client_admin_a.get(url).content.decode()
    with scopes_disabled():
        junior_role = Role.objects.create(
            org=org_a, name="Junior", parent=role_named(org_a, "Manager"), share_with_peers=False
        )
        junior = CrmUserFactory(org=org_a, role=junior_role)
        archived = ArchivedMessage.objects.filter(org=org_a).first().message
    message_url = reverse(
        "mail_message", kwargs={"org_slug": org_a.slug, "message_pk": archived.pk}
    )
    assert client_admin_a.get(message_url).status_code == 200
    assert client_for(junior).get(message_url).status_code == 404
    with scopes_disabled():
        contact.owner = junior
        contact.save()
    assert client_for(junior).get(message_url).status_code == 200


def test_mail2_refused_for_an_admin_of_another_domain(synced, org_a):
    mailbox, _contact = synced
    with scopes_disabled():
        other = CrmUserFactory(org=org_a, user__email="boss@other.example", is_super_admin=False)
        other.profile = other.org.profiles.get(builtin="administrator")
        other.save()
    with scope(org=org_a), pytest.raises(ActionRefused, match="domain"):
        mailbox_backup_start(mailbox=mailbox, actor=other)


def test_mail2_refused_for_an_active_user_and_for_a_non_admin(synced, admin_a, org_a):
    mailbox, _contact = synced
    with scopes_disabled():
        standard = CrmUserFactory(org=org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="Only an administrator"):
        mailbox_backup_start(mailbox=mailbox, actor=standard)
    with scopes_disabled():
        CrmUser.objects.filter(pk=mailbox.owner_id).update(status="active")
    mailbox.owner.refresh_from_db()
    with scope(org=org_a), pytest.raises(ActionRefused, match="deactivated"):
        mailbox_backup_start(mailbox=mailbox, actor=admin_a)


def test_mail4_refused_when_the_user_switched_to_dont_share(synced, admin_a, org_a):
    mailbox, _contact = synced
    with scopes_disabled():
        Mailbox.objects.filter(pk=mailbox.pk).update(sharing="dont_share")
    mailbox.refresh_from_db()
    with scope(org=org_a), pytest.raises(ActionRefused, match="Don't share"):
        mailbox_backup_start(mailbox=mailbox, actor=admin_a)
    with scopes_disabled():
        assert not MailBackup.objects.exists()


def test_mail4_refused_after_reactivation_until_the_user_saves_their_settings(
    synced, admin_a, org_a, client_admin_a
):
    mailbox, _contact = synced
    owner = mailbox.owner
    with scope(org=org_a):
        crm_user_activate(org=org_a, actor=admin_a, membership=owner, ip=None)
    deactivate(owner)  # re-activated, then deactivated again without a save of the settings
    url = reverse("mail_user_backup", kwargs={"org_slug": org_a.slug, "mailbox_pk": mailbox.pk})
    response = client_admin_a.post(url)
    assert "has not saved their mail settings since" in response.content.decode()
    with scopes_disabled():
        assert not MailBackup.objects.exists()

    with scopes_disabled():
        CrmUser.objects.filter(pk=owner.pk).update(status=CrmUser.Status.ACTIVE)
    owner.refresh_from_db()
    with scope(org=org_a):
        mailbox_connect(
            membership=owner,
            actor=owner,
            host=mailbox.host,
            port=mailbox.port,
            security=mailbox.security,
            login=mailbox.login,
            secret=None,
            sharing=mailbox.sharing,
        )
    deactivate(owner)
    assert client_admin_a.post(url).status_code == 302  # the user saved since: allowed


def test_mail1_deactivated_tab_shows_backup_status_time_and_count(
    synced, admin_a, org_a, client_admin_a, django_capture_on_commit_callbacks
):
    mailbox, _contact = synced
    list_url = reverse("mail_user_list", kwargs={"org_slug": org_a.slug})
    assert (
        "Not backed up" in client_admin_a.get(list_url, {"status": "deactivated"}).content.decode()
    )
    url = reverse("mail_user_backup", kwargs={"org_slug": org_a.slug, "mailbox_pk": mailbox.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = client_admin_a.post(url)
    assert response.status_code == 302
    body = client_admin_a.get(response["Location"]).content.decode()
    assert "has started" in body and "Completed" in body and "2 messages" in body


def test_mail6_deactivating_a_dont_share_user_warns_that_nothing_can_be_backed_up(
    org_a, member_a, client_admin_a
):
    mailbox_of(member_a, sharing="dont_share")
    url = reverse("user_deactivate", kwargs={"org_slug": org_a.slug, "user_pk": member_a.pk})
    body = client_admin_a.get(url).content.decode()
    assert "nothing of their mail can be backed up" in body
    assert 'name="mail_backup"' not in body


def test_mail2_deactivation_offers_the_backup_in_the_same_flow(
    org_a, member_a, admin_a, client_admin_a, django_capture_on_commit_callbacks
):
    mailbox = mailbox_of(member_a, sharing="share_all")
    url = reverse("user_deactivate", kwargs={"org_slug": org_a.slug, "user_pk": member_a.pk})
    assert 'name="mail_backup"' in client_admin_a.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client_admin_a.post(url, {"mail_backup": "1"})

    member_a.refresh_from_db()
    assert member_a.status == CrmUser.Status.DEACTIVATED
    with scopes_disabled():
        backup = MailBackup.objects.get(mailbox=mailbox)
    assert backup.status == MailBackup.Status.COMPLETED and backup.started_by == admin_a
