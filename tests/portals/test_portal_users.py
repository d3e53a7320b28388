"""Portal users (POR-3, POR-4, POR-8): inviting a contact, the refusals, the constraint race,
and the admin's bulk actions, each audited; the Users tab with its statuses, delivery states
and a pinned statement count."""

import pytest
from django.core import mail
from django.db import IntegrityError
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from invitations.models import DeliveryAttempt, Invitation
from portals.members import (
    portal_user_invite,
    portal_users_change_group,
    portal_users_delete_unconfirmed,
    portal_users_disable,
    portal_users_enable,
    portal_users_invite_many,
    portal_users_reinvite,
)
from portals.models import PortalUser
from tests.conftest import client_for
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, UserFactory
from users.models import AuditLogEntry


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en", "ja"])


@pytest.fixture
def group(portal):
    with scopes_disabled():
        return UserGroupFactory(portal=portal, name="Customers")


@pytest.fixture
def contact(org_a):
    with scopes_disabled():
        return ContactFactory(
            org=org_a, first_name="Yuki", last_name="Tanaka", email="yuki@example.jp", language="ja"
        )


def invite(actor, portal, contact, group, language="", capture=None):
    with scope(org=portal.org):
        return portal_user_invite(
            actor=actor, portal=portal, contact=contact, group=group, language=language
        )


def stored(portal_user):
    with scopes_disabled():
        return PortalUser.objects.select_related("invitation").get(pk=portal_user.pk)


def audit_actions(org):
    with scopes_disabled():
        return list(AuditLogEntry.objects.filter(org=org).values_list("action", flat=True))


# --- inviting (POR-3) ---------------------------------------------------------------------


def test_por3_invite_one_contact_sends_the_invitation_in_their_language(
    admin_a, portal, group, contact, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        portal_user = invite(admin_a, portal, contact, group)
    portal_user = stored(portal_user)
    assert portal_user.status == PortalUser.Status.INVITED
    assert portal_user.email == "yuki@example.jp"
    assert portal_user.language == "ja", "the contact's language, offered by the portal"
    assert portal_user.invitation.kind == "portal_user"
    assert portal_user.invitation.status == Invitation.Status.SENT
    [message] = mail.outbox
    assert message.to == ["yuki@example.jp"]
    assert "Help centre" in message.subject
    assert "portal_user.invited" in audit_actions(portal.org)


def test_por3_a_language_the_portal_does_not_offer_falls_back_to_its_default(
    admin_a, org_a, group, portal
):
    with scopes_disabled():
        french = ContactFactory(org=org_a, email="marie@example.fr", language="fr")
    portal_user = invite(admin_a, portal, french, group)
    assert stored(portal_user).language == "en"


def test_por3_a_contact_without_email_is_refused(admin_a, org_a, portal, group):
    with scopes_disabled():
        nobody = ContactFactory(org=org_a, first_name="No", last_name="Mail", email="")
    with pytest.raises(ActionRefused, match="has no email address"):
        invite(admin_a, portal, nobody, group)
    with scopes_disabled():
        assert not PortalUser.objects.exists()


def test_por3_the_same_contact_twice_is_refused(admin_a, portal, group, contact):
    invite(admin_a, portal, contact, group)
    with pytest.raises(ActionRefused, match="already a user of this portal"):
        invite(admin_a, portal, contact, group)
    with scopes_disabled():
        assert PortalUser.objects.count() == 1


def test_por3_the_constraint_race_is_answered_with_the_same_refusal(
    admin_a, portal, group, contact
):
    """Two invites at once: the second one's pre-check passed, the constraint says no."""
    with scopes_disabled():
        PortalUserFactory(group=group, contact=contact, email="yuki@example.jp")
    with scopes_disabled(), pytest.raises(IntegrityError):
        from django.db import transaction

        with transaction.atomic():
            PortalUserFactory(group=group, contact=contact, email="other@example.jp")
    with pytest.raises(ActionRefused, match="already a user of this portal"):
        invite(admin_a, portal, contact, group)


def test_por3_an_address_used_by_another_portal_user_is_refused(
    admin_a, org_a, portal, group, contact
):
    invite(admin_a, portal, contact, group)
    with scopes_disabled():
        twin = ContactFactory(org=org_a, email="YUKI@example.jp")
    with pytest.raises(
        ActionRefused, match="This address is already used by another user of this portal."
    ):
        invite(admin_a, portal, twin, group)
    other_portal = PortalFactory(org=org_a, slug="other")
    other_group = UserGroupFactory(portal=other_portal)
    invite(admin_a, other_portal, twin, other_group)  # another portal: fine


def test_por3_a_group_of_another_portal_is_refused(admin_a, org_a, portal, contact):
    with scopes_disabled():
        foreign_group = UserGroupFactory(portal=PortalFactory(org=org_a, slug="else"))
    with pytest.raises(ActionRefused, match="Choose a user group of the portal"):
        invite(admin_a, portal, contact, foreign_group)


def test_por3_only_manage_portal_users_may_invite(org_a, member_a, portal, group, contact):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        invite(member_a, portal, contact, group)


def test_por3_invite_many_reports_each_refusal_and_invites_the_rest(
    admin_a, org_a, portal, group, contact
):
    with scopes_disabled():
        others = [ContactFactory(org=org_a) for _ in range(2)]
        blank = ContactFactory(org=org_a, email="")
    invite(admin_a, portal, contact, group)
    with scope(org=org_a):
        invited, refused = portal_users_invite_many(
            actor=admin_a, group=group, contacts=[contact, *others, blank]
        )
    assert len(invited) == 2
    assert [c for c, _reason in refused] == [contact, blank]


# --- admin actions (POR-8) ----------------------------------------------------------------


@pytest.fixture
def people(org_a, group):
    """One of each status."""
    with scopes_disabled():
        invited = PortalUserFactory(group=group, email="invited@example.org")
        active = PortalUserFactory(
            group=group,
            email="active@example.org",
            status=PortalUser.Status.ACTIVE,
            user=UserFactory(email="active@example.org"),
        )
        pending = PortalUserFactory(
            group=group,
            email="pending@example.org",
            status=PortalUser.Status.LOGIN_PENDING,
            user=UserFactory(email="pending@example.org"),
            pending_email="new@example.org",
        )
        disabled = PortalUserFactory(
            group=group, email="off@example.org", status=PortalUser.Status.DISABLED
        )
    return {"invited": invited, "active": active, "pending": pending, "disabled": disabled}


def test_por8_disable_and_enable_go_back_to_where_they_were(admin_a, portal, people):
    with scope(org=portal.org):
        assert portal_users_disable(actor=admin_a, portal=portal, portal_users=people.values()) == 3
        assert {stored(p).status for p in people.values()} == {"disabled"}
        assert portal_users_enable(actor=admin_a, portal=portal, portal_users=people.values()) == 4
    assert stored(people["invited"]).status == "invited"
    assert stored(people["active"]).status == "active"
    assert stored(people["pending"]).status == "login_pending"
    assert stored(people["disabled"]).status == "invited"
    actions = audit_actions(portal.org)
    assert actions.count("portal_user.disabled") == 3
    assert actions.count("portal_user.enabled") == 4


def test_por8_reinvite_only_the_unconfirmed_and_the_old_link_dies(
    admin_a, portal, group, contact, django_capture_on_commit_callbacks
):
    portal_user = invite(admin_a, portal, contact, group)
    old_hash = stored(portal_user).invitation.token_hash
    mail.outbox.clear()
    with scope(org=portal.org), django_capture_on_commit_callbacks(execute=True):
        assert portal_users_reinvite(actor=admin_a, portal=portal, portal_users=[portal_user]) == 1
    assert len(mail.outbox) == 1
    invitation = stored(portal_user).invitation
    assert invitation.token_hash != old_hash and invitation.sent_count == 2
    assert "portal_user.reinvited" in audit_actions(portal.org)


def test_por8_reinvite_refuses_active_users(admin_a, portal, people):
    with scope(org=portal.org), pytest.raises(ActionRefused, match="active@example.org"):
        portal_users_reinvite(
            actor=admin_a, portal=portal, portal_users=[people["invited"], people["active"]]
        )


def test_por8_change_group_within_the_portal_only(admin_a, org_a, portal, people):
    with scopes_disabled():
        partners = UserGroupFactory(portal=portal, name="Partners")
        foreign = UserGroupFactory(portal=PortalFactory(org=org_a, slug="x"))
    with scope(org=org_a):
        changed = portal_users_change_group(
            actor=admin_a, portal=portal, portal_users=people.values(), group=partners
        )
        assert changed == 4
        with pytest.raises(ActionRefused):
            portal_users_change_group(
                actor=admin_a, portal=portal, portal_users=people.values(), group=foreign
            )
    assert stored(people["active"]).group == partners
    assert audit_actions(org_a).count("portal_user.group_changed") == 4


def test_por8_delete_unconfirmed_never_deletes_an_active_user(admin_a, portal, people):
    with scope(org=portal.org):
        with pytest.raises(ActionRefused, match="active@example.org"):
            portal_users_delete_unconfirmed(
                actor=admin_a, portal=portal, portal_users=[people["invited"], people["active"]]
            )
        with scopes_disabled():
            assert PortalUser.objects.count() == 4, "all or nothing"
        portal_users_delete_unconfirmed(
            actor=admin_a, portal=portal, portal_users=[people["invited"], people["disabled"]]
        )
    with scopes_disabled():
        assert set(PortalUser.objects.values_list("email", flat=True)) == {
            "active@example.org",
            "pending@example.org",
        }
    assert audit_actions(portal.org).count("portal_user.deleted") == 2


def test_por8_delete_kills_the_invitation_link(admin_a, portal, group, contact):
    portal_user = invite(admin_a, portal, contact, group)
    with scope(org=portal.org):
        portal_users_delete_unconfirmed(actor=admin_a, portal=portal, portal_users=[portal_user])
    with scopes_disabled():
        assert not Invitation.objects.filter(kind="portal_user").exists()


# --- the Users tab (POR-4, POR-8) ---------------------------------------------------------


def users_url(portal, **params):
    from urllib.parse import urlencode

    query = f"?{urlencode(params)}" if params else ""
    return f"/o/{portal.org.slug}/portals/{portal.pk}/users/{query}"


def test_por4_the_users_tab_shows_the_statuses_apart_with_counts(client_admin_a, portal, people):
    page = client_admin_a.get(users_url(portal)).content.decode()
    assert "Invitation not accepted" in page and "Login pending" in page
    for person in people.values():
        assert person.email in page
    only_pending = client_admin_a.get(users_url(portal, status="login_pending")).content.decode()
    assert "pending@example.org" in only_pending and "invited@example.org" not in only_pending
    found = client_admin_a.get(users_url(portal, q="activ")).content.decode()
    assert "active@example.org" in found and "off@example.org" not in found


def _attempt(invitation, outcome, error=""):
    DeliveryAttempt.objects.create(
        org=invitation.org,
        invitation=invitation,
        send_number=invitation.sent_count,
        outcome=outcome,
        error=error,
    )


def test_por4_the_delivery_column_shows_each_pending_invitations_state(
    client_admin_a, admin_a, org_a, portal, group
):
    with scopes_disabled():
        contacts = {
            name: ContactFactory(org=org_a, email=f"{name}@example.org")
            for name in ("queued", "sent", "failed", "retrying")
        }
    users = {name: invite(admin_a, portal, c, group) for name, c in contacts.items()}
    with scopes_disabled():
        _attempt(stored(users["sent"]).invitation, DeliveryAttempt.Outcome.SENT)
        _attempt(
            stored(users["failed"]).invitation,
            DeliveryAttempt.Outcome.FAILED,
            "550 mailbox unavailable",
        )
        _attempt(stored(users["retrying"]).invitation, DeliveryAttempt.Outcome.RETRYING, "timeout")
    page = client_admin_a.get(users_url(portal)).content.decode()
    assert 'data-delivery="queued"' in page
    assert 'data-delivery="sent"' in page
    assert 'data-delivery="failed"' in page and "550 mailbox unavailable" in page
    assert 'data-delivery="retrying"' in page


# Session, account, membership, portal, groups, the status counts (which give the page's
# total too), the page with its contacts, groups, invitations and delivery states, the nav.
STATEMENTS = 8
PAGE_SIZE = 25


@pytest.mark.parametrize("how_many", [25, 100])
def test_por4_the_users_tab_runs_a_pinned_number_of_statements(
    client_admin_a, org_a, portal, group, how_many, django_assert_max_num_queries
):
    """The same statements for 25 users as for 100, 25 a page like every other list
    (issue 21)."""
    with scopes_disabled():
        for _ in range(how_many):
            PortalUserFactory(group=group)
    with django_assert_max_num_queries(STATEMENTS):
        response = client_admin_a.get(users_url(portal))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("data-portal-user=") == min(how_many, PAGE_SIZE)
    assert ("Page 1 of 4" in page) == (how_many == 100)
    assert ("Page 1 of" in page) == (how_many > PAGE_SIZE)


def test_por4_issue21_the_users_tab_pages_each_filter_by_its_own_total(
    client_admin_a, org_a, portal, group
):
    """The page's total comes from the status tabs' counts when only a status is chosen, and
    from a count of its own with a search or a group: every filter pages to its last row."""
    with scopes_disabled():
        other = UserGroupFactory(portal=portal, name="Partners")
        for n in range(30):
            PortalUserFactory(group=group, status=PortalUser.Status.ACTIVE, email=f"a{n}@x.jp")
        for n in range(3):
            PortalUserFactory(group=other, email=f"partner{n}@x.jp")
    cases = {  # query: (total shown, rows on the page, pagination)
        "": (33, 25, "Page 1 of 2"),
        "?status=active": (30, 25, "Page 1 of 2"),
        "?status=active&page=2": (30, 5, "Page 2 of 2"),
        "?status=invited": (3, 3, None),
        f"?group={other.pk}": (3, 3, None),
        "?q=partner": (3, 3, None),
        "?q=x.jp&page=2": (33, 8, "Page 2 of 2"),
    }
    for query, (total, rows, pages) in cases.items():
        page = client_admin_a.get(users_url(portal) + query).content.decode()
        assert f'id="total">{total}<' in page, query
        assert page.count("data-portal-user=") == rows, query
        assert (pages in page) if pages else ("Page 1 of" not in page), query


def test_por8_the_bulk_bar_disables_and_deletes_with_clear_messages(client_admin_a, portal, people):
    url = f"/o/{portal.org.slug}/portals/{portal.pk}/users/bulk/"
    asked = client_admin_a.post(url, {"action": "disable", "users": [people["active"].pk]})
    assert "Disable these portal users?" in asked.content.decode()
    assert stored(people["active"]).status == "active", "nothing before the confirmation"
    response = client_admin_a.post(
        url, {"action": "disable", "users": [people["active"].pk], "confirmed": "1"}, follow=True
    )
    assert "1 portal user disabled." in response.content.decode()
    assert stored(people["active"]).status == "disabled"
    refused = client_admin_a.post(
        url,
        {
            "action": "delete",
            "users": [people["pending"].pk, people["invited"].pk],
            "confirmed": "1",
        },
        follow=True,
    )
    assert "Only users who never accepted their invitation can be deleted" in (
        refused.content.decode()
    )
    with scopes_disabled():
        assert PortalUser.objects.count() == 4


def test_por3_invite_from_the_contact_page(client_admin_a, org_a, portal, group, contact):
    page = client_admin_a.get(f"/o/{org_a.slug}/contacts/{contact.pk}/").content.decode()
    assert "Invite to portal" in page
    response = client_admin_a.post(
        f"/o/{org_a.slug}/portals/contacts/{contact.pk}/invite/",
        {"group": group.pk, "language": "ja"},
        follow=True,
    )
    assert "Yuki Tanaka was invited to Help centre." in response.content.decode()
    with scopes_disabled():
        assert PortalUser.objects.get(contact=contact).language == "ja"
    again = client_admin_a.post(
        f"/o/{org_a.slug}/portals/contacts/{contact.pk}/invite/",
        {"group": group.pk, "language": "ja"},
        follow=True,
    )
    assert "This contact is already a user of this portal." in again.content.decode()


def test_por3_invite_from_the_contacts_list_bulk_bar(client_admin_a, org_a, portal, group):
    with scopes_disabled():
        picked = [ContactFactory(org=org_a) for _ in range(3)]
    page = client_admin_a.get(f"/o/{org_a.slug}/contacts/").content.decode()
    assert "Invite to portal" in page
    response = client_admin_a.post(
        f"/o/{org_a.slug}/portals/contacts/invite/",
        {"portal_group": group.pk, "contacts": [c.pk for c in picked]},
        follow=True,
    )
    assert "3 contacts invited to Help centre." in response.content.decode()
    with scopes_disabled():
        assert PortalUser.objects.filter(portal=portal).count() == 3


def test_por3_a_standard_member_sees_no_invite_button(org_a, portal, group, contact):
    with scopes_disabled():
        member = CrmUserFactory(org=org_a)
    page = client_for(member).get(f"/o/{org_a.slug}/contacts/{contact.pk}/").content.decode()
    assert "Invite to portal" not in page


# --- the constraint is the last word (POR-3; DESIGN: Invitations) -------------------------


def _blocked_on_a_lock() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction keeps its snapshot
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _invite_while_another_insert_is_uncommitted(admin_a, portal, group, contact, rival):
    """`rival` (a PortalUser to insert) is written in an open transaction; the invite runs in
    another thread, passes its checks (it cannot see the uncommitted row), blocks on the unique
    index, and meets the constraint when the rival commits. Returns what the invite raised."""
    import threading
    import time

    from django.db import connection, transaction

    outcome = {}

    def run():
        try:
            invite(admin_a, portal, contact, group)
        except Exception as error:  # noqa: BLE001 - what it raised is the result
            outcome["error"] = error
        finally:
            connection.close()

    with transaction.atomic(), scopes_disabled():
        rival()
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 30
        while not _blocked_on_a_lock():
            if time.monotonic() > deadline:
                raise AssertionError("the second invite never reached the index")
            assert thread.is_alive(), f"the invite finished first: {outcome}"
    thread.join(30)
    return outcome.get("error")


@pytest.mark.django_db(transaction=True)
def test_por3_two_invites_of_one_contact_at_once_the_constraint_answers_clearly(
    org_a, admin_a, portal, group, contact
):
    error = _invite_while_another_insert_is_uncommitted(
        admin_a,
        portal,
        group,
        contact,
        lambda: PortalUserFactory(group=group, contact=contact, email="yuki@example.jp"),
    )
    assert isinstance(error, ActionRefused), error
    assert error.message == "This contact is already a user of this portal."
    with scopes_disabled():
        assert PortalUser.objects.filter(contact=contact).count() == 1


@pytest.mark.django_db(transaction=True)
def test_por3_two_invites_of_one_address_at_once_the_constraint_answers_clearly(
    org_a, admin_a, portal, group, contact
):
    with scopes_disabled():
        twin = ContactFactory(org=org_a, email="Yuki@Example.jp")
    error = _invite_while_another_insert_is_uncommitted(
        admin_a,
        portal,
        group,
        contact,
        lambda: PortalUserFactory(group=group, contact=twin, email="Yuki@Example.jp"),
    )
    assert isinstance(error, ActionRefused), error
    assert error.message == "This address is already used by another user of this portal."


# --- more of the pages (POR-3, POR-8) -----------------------------------------------------


def test_por3_invite_from_the_users_tab_with_a_bounded_search(
    client_admin_a, org_a, portal, group, contact
):
    with scopes_disabled():
        for n in range(15):
            ContactFactory(org=org_a, first_name="Sam", last_name=f"Many{n}")
    url = f"/o/{org_a.slug}/portals/{portal.pk}/users/invite/"
    empty = client_admin_a.get(url).content.decode()
    assert 'name="contact"' not in empty, "no list of contacts before a search"
    many = client_admin_a.get(url, {"q": "Many"}).content.decode()
    assert many.count('name="contact"') == 10, "at most 10 contacts, never all of them"
    found = client_admin_a.get(url, {"q": "tanaka"}).content.decode()
    assert "Yuki Tanaka" in found
    response = client_admin_a.post(
        url, {"contact": contact.pk, "group": group.pk, "language": ""}, follow=True
    )
    assert response.redirect_chain[-1][0] == users_url(portal)
    assert "Yuki Tanaka was invited to Help centre." in response.content.decode()
    assert "yuki@example.jp" in response.content.decode()


def test_por8_the_bulk_bar_reinvites_enables_and_changes_the_group(
    client_admin_a, portal, people, django_capture_on_commit_callbacks
):
    url = f"/o/{portal.org.slug}/portals/{portal.pk}/users/bulk/"
    with scopes_disabled():
        partners = UserGroupFactory(portal=portal, name="Partners")
    moved = client_admin_a.post(
        url,
        {"action": "group", "group": partners.pk, "users": [people["active"].pk]},
        follow=True,
    )
    assert "1 portal user moved to another group." in moved.content.decode()
    assert stored(people["active"]).group == partners
    enabled = client_admin_a.post(
        url, {"action": "enable", "users": [people["disabled"].pk]}, follow=True
    )
    assert "1 portal user enabled." in enabled.content.decode()
    assert stored(people["disabled"]).status == "invited"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        resent = client_admin_a.post(
            url, {"action": "reinvite", "users": [people["invited"].pk]}, follow=True
        )
    assert "1 invitation sent again." in resent.content.decode()
    assert [m.to for m in mail.outbox] == [["invited@example.org"]]
    refused = client_admin_a.post(
        url, {"action": "reinvite", "users": [people["active"].pk]}, follow=True
    )
    assert "Only users who have not confirmed yet can be re-invited" in refused.content.decode()


def test_por3_inviting_all_matching_contacts_refuses_a_stale_count(
    client_admin_a, org_a, portal, group
):
    with scopes_disabled():
        for _ in range(3):
            ContactFactory(org=org_a, last_name="Stale")
    url = f"/o/{org_a.slug}/portals/contacts/invite/"
    stale = client_admin_a.post(
        url,
        {"portal_group": group.pk, "all_matching": "1", "query": "q=Stale", "expected_count": 2},
        follow=True,
    )
    assert "The list changed since you loaded it" in stale.content.decode()
    with scopes_disabled():
        assert not PortalUser.objects.exists()
    fresh = client_admin_a.post(
        url,
        {"portal_group": group.pk, "all_matching": "1", "query": "q=Stale", "expected_count": 3},
        follow=True,
    )
    assert "3 contacts invited to Help centre." in fresh.content.decode()


def test_por8_all_matching_users_with_the_stale_count_guard(client_admin_a, portal, people):
    url = f"/o/{portal.org.slug}/portals/{portal.pk}/users/bulk/"
    stale = client_admin_a.post(
        url,
        {"action": "enable", "all_matching": "1", "query": "status=disabled", "expected_count": 3},
        follow=True,
    )
    assert "The list changed since you loaded it" in stale.content.decode()
    done = client_admin_a.post(
        url,
        {"action": "enable", "all_matching": "1", "query": "status=disabled", "expected_count": 1},
        follow=True,
    )
    assert "1 portal user enabled." in done.content.decode()
    assert stored(people["disabled"]).status == "invited"
