"""MAIL-3 (lock / unlock, exactly the seed's rules), MAIL-5 (connecting a mailbox: the secret
encrypted at rest, bad input refused with nothing written) and MAIL-6 (the audit log)."""

import pytest
from django.core.exceptions import PermissionDenied
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from mailoptions.models import Mailbox
from mailoptions.secrets import secret_decrypt
from mailoptions.services import mailbox_connect, mailbox_lock, mailbox_unlock
from tests.users.factories import CrmUserFactory, builtin_profile
from users.audit import action_label, audit_sentence
from users.models import AuditLogEntry, CrmUser, Profile


def connected(membership, sharing="record_level") -> Mailbox:
    with scope(org=membership.org):
        return mailbox_connect(
            membership=membership,
            actor=membership,
            host="imap.example.net",
            port=993,
            security="tls",
            login=membership.email,
            secret="app-password-123",
            sharing=sharing,
        )


def lock(mailbox, actor):
    with scope(org=actor.org):
        return mailbox_lock(mailbox=mailbox, actor=actor)


def unlock(mailbox, actor):
    with scope(org=actor.org):
        return mailbox_unlock(mailbox=mailbox, actor=actor)


def audit(org, action):
    with scopes_disabled():
        return list(AuditLogEntry.objects.filter(org=org, action=action).order_by("pk"))


@pytest.fixture
def second_admin(org_a):
    with scopes_disabled():
        return CrmUserFactory(
            org=org_a,
            first_name="Ada",
            last_name="Second",
            profile=builtin_profile(org_a, Profile.ADMINISTRATOR),
        )


def test_mail3_an_admin_locks_and_unlocks_another_user_audited(admin_a, member_a, org_a):
    mailbox = connected(member_a)

    assert lock(mailbox, admin_a).locked
    assert not unlock(mailbox, admin_a).locked

    [locked] = audit(org_a, "mail.locked")
    [unlocked] = audit(org_a, "mail.unlocked")
    assert locked.actor == admin_a and locked.target == member_a
    assert unlocked.actor == admin_a and unlocked.target == member_a


def test_mail3_with_several_admins_an_admin_cannot_lock_or_unlock_themself(
    admin_a, second_admin, org_a
):
    mine = connected(admin_a)
    with pytest.raises(ActionRefused, match="can't lock your own"):
        lock(mine, admin_a)
    lock(mine, second_admin)
    with pytest.raises(ActionRefused, match="can't unlock your own"):
        unlock(mine, admin_a)
    mine.refresh_from_db()
    assert mine.locked and len(audit(org_a, "mail.locked")) == 1


def test_mail3_a_sole_admin_may_lock_and_unlock_themself(admin_a, member_a):
    mine = connected(admin_a)
    assert lock(mine, admin_a).locked
    assert not unlock(mine, admin_a).locked


def test_mail3_a_deactivated_admin_does_not_count_as_another_admin(admin_a, org_a):
    with scopes_disabled():
        CrmUserFactory(
            org=org_a,
            status=CrmUser.Status.DEACTIVATED,
            profile=builtin_profile(org_a, Profile.ADMINISTRATOR),
        )
    assert lock(connected(admin_a), admin_a).locked


def test_mail3_a_dont_share_user_cannot_be_locked(admin_a, member_a, org_a):
    mailbox = connected(member_a, sharing="dont_share")
    with pytest.raises(ActionRefused, match="can't be locked"):
        lock(mailbox, admin_a)
    mailbox.refresh_from_db()
    assert not mailbox.locked and audit(org_a, "mail.locked") == []


def test_mail3_only_an_administrator_locks(admin_a, member_a, org_a):
    with scopes_disabled():
        manager = CrmUserFactory(org=org_a)  # Standard profile
    mailbox = connected(admin_a)
    with pytest.raises(ActionRefused, match="Only an administrator"):
        lock(mailbox, manager)
    with pytest.raises(ActionRefused, match="Only an administrator"):
        lock(connected(member_a), member_a)


def test_mail3_a_locked_user_cannot_change_sharing_or_mailbox(admin_a, member_a, org_a):
    mailbox = connected(member_a)
    lock(mailbox, admin_a)
    with pytest.raises(ActionRefused, match="locked"):
        connected(member_a, sharing="share_all")
    mailbox.refresh_from_db()
    assert mailbox.sharing == "record_level" and audit(org_a, "mail.sharing_changed")[0]


def test_mail3_another_orgs_admin_cannot_lock(admin_b, member_a):
    mailbox = connected(member_a)
    with pytest.raises(PermissionDenied):
        lock(mailbox, admin_b)


def test_mail5_the_secret_is_stored_encrypted_and_kept_when_left_empty(member_a):
    mailbox = connected(member_a)
    assert "app-password-123" not in mailbox.secret_encrypted
    assert secret_decrypt(mailbox.secret_encrypted) == "app-password-123"
    with scope(org=member_a.org):
        mailbox_connect(
            membership=member_a,
            actor=member_a,
            host="imap2.example.net",
            port=143,
            security="starttls",
            login="other",
            secret="",
            sharing="share_all",
        )
    mailbox.refresh_from_db()
    assert mailbox.host == "imap2.example.net"
    assert secret_decrypt(mailbox.secret_encrypted) == "app-password-123"


def test_mail6_sharing_changes_are_audited(member_a, org_a):
    connected(member_a, sharing="record_level")
    connected(member_a, sharing="share_all")
    connected(member_a, sharing="share_all")
    details = [entry.details for entry in audit(org_a, "mail.sharing_changed")]
    assert details == [
        {"old": None, "new": "record_level"},
        {"old": "record_level", "new": "share_all"},
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", ""),
        ("host", "imap example.net"),
        ("port", 0),
        ("port", 70000),
        ("security", "ssl3"),
        ("sharing", "everyone"),
        ("host", "127.0.0.1"),
    ],
)
def test_mail5_bad_connection_input_is_refused_with_nothing_written(
    member_a, settings, field, value
):
    settings.MAIL_IMAP_ALLOW_PRIVATE_HOSTS = False
    values = dict(host="imap.example.net", port=993, security="tls", sharing="share_all")
    values[field] = value
    with scope(org=member_a.org), pytest.raises(ActionRefused) as refused:
        mailbox_connect(membership=member_a, actor=member_a, login="me", secret="pw", **values)
    assert refused.value.field == field
    with scopes_disabled():
        assert not Mailbox.objects.filter(owner=member_a).exists()


def test_mail5_without_the_secret_key_no_mailbox_is_connected(member_a, settings):
    settings.MAIL_SECRET_KEY = ""
    with pytest.raises(ActionRefused, match="no mail secret key"):
        connected(member_a)
    with scopes_disabled():
        assert not Mailbox.objects.filter(owner=member_a).exists()


def test_mail5_a_user_connects_only_their_own_mailbox(admin_a, member_a):
    with scope(org=member_a.org), pytest.raises(PermissionDenied):
        mailbox_connect(
            membership=member_a,
            actor=admin_a,
            host="imap.example.net",
            port=993,
            security="tls",
            login="x",
            secret="y",
            sharing="share_all",
        )


def test_mail6_the_audit_log_says_each_mail_action_in_words():
    assert audit_sentence("mail.sharing_changed", {"old": None, "new": "share_all"}) == (
        "Mail sharing changed from no mailbox to Share all."
    )
    assert "locked" in audit_sentence("mail.locked", {"mailbox": "me@imap.example.net"})
    assert action_label("mail.unlocked") == "Mail settings unlocked"
