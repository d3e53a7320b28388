"""MAIL-5: a user connects their own mailbox from their mail settings page, the password never
shown again, and syncs on demand; MAIL-3: while locked, the page is read-only and a POST is
refused."""

from django.urls import reverse
from django_scopes import scopes_disabled

from mailoptions.models import Mailbox
from mailoptions.secrets import secret_decrypt
from tests.mailoptions.conftest import connect, mail


def settings_url(org):
    return reverse("mail_settings", kwargs={"org_slug": org.slug})


def form_data(dovecot, login, password, **extra):
    return {
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "login": login,
        "secret": password,
        "sharing": "record_level",
        **extra,
    }


def test_mail5_a_user_connects_their_mailbox_and_it_syncs(
    client_member_a, member_a, org_a, dovecot, imap_account, django_capture_on_commit_callbacks
):
    dovecot.deliver(imap_account[0], [mail(1), mail(2)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_member_a.post(
            settings_url(org_a), form_data(dovecot, *imap_account), follow=True
        )
    body = response.content.decode()
    assert "Mail settings saved." in body
    assert imap_account[1] not in body  # never shown again
    with scopes_disabled():
        mailbox = Mailbox.objects.get(owner=member_a)
        assert mailbox.copies.count() == 2
    assert secret_decrypt(mailbox.secret_encrypted) == imap_account[1]
    assert mailbox.last_sync_result == "ok"
    assert "Synced" in client_member_a.get(settings_url(org_a)).content.decode()


def test_mail5_bad_input_shows_errors_and_writes_nothing(client_member_a, member_a, org_a):
    response = client_member_a.post(
        settings_url(org_a),
        {"host": "", "port": "99999", "security": "ssl3", "login": "", "sharing": "x"},
    )
    assert response.status_code == 200
    assert "Please correct" in response.content.decode()
    with scopes_disabled():
        assert not Mailbox.objects.filter(owner=member_a).exists()


def test_mail5_sync_now_runs_a_sync_in_the_worker(
    client_member_a, member_a, org_a, dovecot, imap_account, django_capture_on_commit_callbacks
):
    mailbox = connect(member_a, dovecot, *imap_account)
    dovecot.deliver(imap_account[0], [mail(7)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_member_a.post(reverse("mail_sync_now", kwargs={"org_slug": org_a.slug}))
    assert response.status_code == 302
    with scopes_disabled():
        assert mailbox.copies.count() == 1


def test_mail3_a_locked_users_settings_are_read_only(
    client_member_a, member_a, admin_a, org_a, dovecot, imap_account
):
    mailbox = connect(member_a, dovecot, *imap_account)
    with scopes_disabled():
        Mailbox.objects.filter(pk=mailbox.pk).update(locked=True)

    page = client_member_a.get(settings_url(org_a)).content.decode()
    assert "An administrator has locked your mail settings" in page
    assert 'name="sharing"' in page and "disabled" in page
    assert 'type="submit" class="primary"' not in page

    response = client_member_a.post(
        settings_url(org_a), form_data(dovecot, *imap_account, sharing="dont_share")
    )
    assert "locked by an administrator" in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.sharing == "record_level"
