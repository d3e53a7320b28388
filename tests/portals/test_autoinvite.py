"""Auto-invite in the workers (AUT-1 … AUT-8, AUT-11, AUT-12): record events go through the
real outbox path (contact_create → RecordEvent → record_events_process → the consumer in
RECORD_EVENT_CONSUMERS), invitations through the real invitation core into Django's mail
outbox. Real worker processes: tests/integration/test_autoinvite_worker.py."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portals.autoinvite import (
    auto_invite_contacts,
    auto_invite_events_consume,
    auto_invite_reminders_send,
    auto_invite_rules_changed,
    auto_invite_send_sweep_task,
    auto_invites_send,
    send_auto_invites_task,
)
from portals.models import (
    AutoInviteDay,
    AutoInviteRule,
    EmailTemplate,
    FailedInvitation,
    PortalUser,
)
from records.models import Contact, RecordEvent
from records.outbox import record_events_process
from records.services import contact_create, contact_update
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.workers import queued_tasks

PAID = {"conditions": [{"field": "subscription", "op": "is", "value": "paid"}], "pattern": ""}
JAPAN = {"conditions": [{"field": "country", "op": "is", "value": "JP"}], "pattern": ""}
ANYONE = {"conditions": [], "pattern": ""}


def contact_data(n=0, **extra):
    return {
        "last_name": f"Tanaka{n}",
        "email": f"t{n}@example.jp",
        "subscription": "paid",
        "country": "JP",
        **extra,
    }


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en", "ja"])


@pytest.fixture
def rule(portal):
    """Paid contacts are invited: in Japanese when in Japan, else in English."""
    with scopes_disabled():
        group = UserGroupFactory(portal=portal, name="Customers")
        return AutoInviteRule.objects.create(
            org=portal.org,
            portal=portal,
            group=group,
            is_enabled=True,
            enabled_at=timezone.now() - timedelta(minutes=1),
            language_mode=AutoInviteRule.LanguageMode.MULTIPLE,
            common_conditions=PAID,
            languages=[
                {"language": "ja", "conditions": JAPAN},
                {"language": "en", "conditions": ANYONE},
            ],
        )


def rule_set(rule, **changes):
    with scopes_disabled():
        AutoInviteRule.objects.filter(pk=rule.pk).update(**changes)
    auto_invite_rules_changed(rule.org)


def pending_ids(org):
    with scopes_disabled():
        return list(
            RecordEvent.objects.filter(org=org, processed_at=None)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def create_and_process(org, actor, *datas):
    with scope(org=org):
        contacts = [contact_create(org=org, actor=actor, data=d) for d in datas]
        assert record_events_process(event_ids=pending_ids(org)) >= len(datas)
    return contacts


def portal_users(portal):
    with scopes_disabled():
        return list(PortalUser.objects.filter(portal=portal).order_by("pk"))


def failures(portal):
    with scopes_disabled():
        return list(FailedInvitation.objects.filter(portal=portal).order_by("pk"))


def day_of(portal):
    with scopes_disabled():
        return AutoInviteDay.objects.filter(portal=portal).first()


def test_aut5_a_matching_contact_becomes_a_waiting_portal_user_of_the_group(
    org_a, admin_a, rule, portal
):
    [contact] = create_and_process(org_a, admin_a, contact_data())
    [user] = portal_users(portal)
    assert (user.contact_id, user.group_id, user.language) == (contact.pk, rule.group_id, "ja")
    assert user.auto_invite_waiting and user.auto_invited_at is not None
    assert user.email == "t0@example.jp" and user.status == PortalUser.Status.INVITED
    day = day_of(portal)
    assert (day.evaluated, day.matched, day.failed, day.sent) == (1, 1, 0, 0)


def test_aut2_languages_in_the_admins_order_first_match_wins(org_a, admin_a, rule, portal):
    create_and_process(org_a, admin_a, contact_data(1, country="JP"), contact_data(2, country="FR"))
    assert [u.language for u in portal_users(portal)] == ["ja", "en"]
    rule_set(
        rule,
        languages=[
            {"language": "en", "conditions": ANYONE},
            {"language": "ja", "conditions": JAPAN},
        ],
    )
    create_and_process(org_a, admin_a, contact_data(3, country="JP"))
    assert portal_users(portal)[-1].language == "en", "English comes first now"


def test_aut3_common_conditions_are_checked_first(org_a, admin_a, rule, portal):
    create_and_process(org_a, admin_a, contact_data(subscription="free"))
    assert portal_users(portal) == [] and failures(portal) == []
    day = day_of(portal)
    assert (day.evaluated, day.matched) == (1, 0)


def test_aut2_single_language_mode_invites_in_its_language_or_not_at_all(
    org_a, admin_a, rule, portal
):
    rule_set(
        rule,
        language_mode=AutoInviteRule.LanguageMode.SINGLE,
        languages=[{"language": "ja", "conditions": JAPAN}],
    )
    create_and_process(org_a, admin_a, contact_data(1, country="JP"), contact_data(2, country="FR"))
    assert [(u.email, u.language) for u in portal_users(portal)] == [("t1@example.jp", "ja")]


@pytest.mark.parametrize(
    ("trigger", "invited_on_create", "invited_on_update"),
    [("create", True, False), ("update", False, True), ("both", True, True)],
)
def test_aut1_the_trigger_decides_which_events_count(
    org_a, admin_a, rule, portal, trigger, invited_on_create, invited_on_update
):
    rule_set(rule, trigger=trigger)
    [contact] = create_and_process(org_a, admin_a, contact_data(subscription="free"))
    [other] = create_and_process(org_a, admin_a, contact_data(9))
    assert bool(portal_users(portal)) is invited_on_create
    with scope(org=org_a):
        contact_update(actor=admin_a, contact=contact, data={"subscription": "paid"})
        record_events_process(event_ids=pending_ids(org_a))
    invited = {u.contact_id for u in portal_users(portal)}
    assert (contact.pk in invited) is invited_on_update
    assert (other.pk in invited) is invited_on_create


def test_aut6_a_disabled_rule_sends_nothing_and_no_event_is_replayed_on_re_enable(
    org_a, admin_a, rule, portal
):
    rule_set(rule, is_enabled=False)
    create_and_process(org_a, admin_a, contact_data(1))
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=contact_data(2))  # still pending
    rule_set(rule, is_enabled=True, enabled_at=timezone.now())
    with scope(org=org_a):
        record_events_process(event_ids=pending_ids(org_a))
    assert portal_users(portal) == [], "events saved before the re-enable are not replayed"
    create_and_process(org_a, admin_a, contact_data(3))
    assert [u.email for u in portal_users(portal)] == ["t3@example.jp"]


def test_aut5_a_contact_is_never_a_portal_user_twice(org_a, admin_a, rule, portal):
    """A duplicate event, an update after the invitation, a batch holding the same contact
    twice: one portal user, counted as already invited."""
    [contact] = create_and_process(org_a, admin_a, contact_data())
    with scope(org=org_a):
        contact_update(actor=admin_a, contact=contact, data={"title": "CEO"})
        contact_update(actor=admin_a, contact=contact, data={"title": "CTO"})
        events = list(RecordEvent.objects.filter(org=org_a).order_by("pk"))
        auto_invite_events_consume(events)  # handed over again, as a redelivery would
        record_events_process(event_ids=pending_ids(org_a))
    assert len(portal_users(portal)) == 1


def test_aut5_a_second_invitation_after_the_constraint_is_skipped_not_an_error(
    org_a, admin_a, rule, portal
):
    """Another worker created the portal user after this batch read the facts: the INSERT
    skips the pair (ON CONFLICT DO NOTHING) rather than fail the batch."""
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=contact_data())
        events = list(RecordEvent.objects.filter(org=org_a))
        PortalUserFactory(group=rule.group, contact=contact, email="other@example.jp")
        auto_invite_events_consume(events)
    assert [u.email for u in portal_users(portal)] == ["other@example.jp"]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no_email", FailedInvitation.Reason.NO_EMAIL),
        ("invalid_email", FailedInvitation.Reason.INVALID_EMAIL),
        ("address_taken", FailedInvitation.Reason.ADDRESS_TAKEN),
        ("no_template", FailedInvitation.Reason.NO_TEMPLATE),
        ("org_not_verified", FailedInvitation.Reason.ORG_NOT_VERIFIED),
        ("portal_disabled", FailedInvitation.Reason.PORTAL_DISABLED),
    ],
)
def test_aut7_a_matching_contact_that_cannot_be_invited_is_logged_with_its_trace(
    org_a, admin_a, rule, portal, setup, reason
):
    data = contact_data()
    with scopes_disabled():
        if setup == "no_email":
            data["email"] = ""
        elif setup == "address_taken":
            PortalUserFactory(group=rule.group, email="t0@example.jp")
        elif setup == "no_template":
            portal.languages = ["en"]  # Japanese is not offered: no Japanese invitation
            portal.save()
        elif setup == "org_not_verified":
            type(org_a).objects.filter(pk=org_a.pk).update(verified_at=None)
            org_a.verified_at = None
        elif setup == "portal_disabled":
            portal.is_enabled = False
            portal.save()
    auto_invite_rules_changed(org_a)
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=data)
        if setup == "invalid_email":  # an address saved before validation got stricter
            Contact.objects.filter(pk=contact.pk).update(email="not an address")
        record_events_process(event_ids=pending_ids(org_a))
    [failed] = failures(portal)
    assert (failed.reason, failed.contact_id, failed.language) == (reason, contact.pk, "ja")
    assert failed.record_name == str(contact)
    assert failed.trace["common"]["result"] is True and failed.trace["language"] == "ja"
    assert [u.contact_id for u in portal_users(portal)] == [
        u.contact_id for u in portal_users(portal) if u.contact_id != contact.pk
    ]
    assert day_of(portal).failed == 1


def test_aut7_a_customised_template_makes_an_unshipped_language_invitable(
    org_a, admin_a, rule, portal, settings
):
    """ "No template" means neither the portal's own template nor a shipped one: a portal's
    own Japanese template counts even where Japanese text is not shipped."""
    with scopes_disabled():
        EmailTemplate.objects.create(
            org=org_a,
            portal=portal,
            kind="accept_invitation",
            language="ja",
            subject="ようこそ",
            body_html="<p>{link}</p>",
        )
    create_and_process(org_a, admin_a, contact_data())
    assert [u.language for u in portal_users(portal)] == ["ja"]


def test_aut4_a_rule_naming_a_deleted_field_is_turned_off_with_a_reason(
    org_a, admin_a, rule, portal
):
    rule_set(
        rule,
        common_conditions={
            "conditions": [{"field": "cf_gone", "op": "is", "value": "x"}],
            "pattern": "",
        },
    )
    create_and_process(org_a, admin_a, contact_data())  # the batch is processed, no crash
    rule.refresh_from_db()
    assert not rule.is_enabled and "cf_gone" in rule.invalid_reason
    assert portal_users(portal) == []
    with scope(org=org_a):
        assert pending_ids(org_a) == []


def statements_for(org, actor, count: int, first: int) -> int:
    with scope(org=org):
        for n in range(first, first + count):
            contact_create(org=org, actor=actor, data=contact_data(n))
        ids = pending_ids(org)
        with CaptureQueriesContext(connection) as queries:
            assert record_events_process(event_ids=ids) == count
    return len(queries)


def test_aut8_a_batch_costs_the_same_statements_for_1_or_50_matching_contacts(
    org_a, admin_a, rule, portal
):
    """Rules from the cache, contacts in one query, portal users in one INSERT, counts in one
    upsert: the statements do not grow with the batch."""
    statements_for(org_a, admin_a, 1, first=0)  # the rules are cached now
    one, fifty = statements_for(org_a, admin_a, 1, 1), statements_for(org_a, admin_a, 50, 2)
    assert one == fifty
    assert len(portal_users(portal)) == 52


def test_aut8_rules_are_read_once_then_from_the_cache_until_they_change(
    org_a, admin_a, rule, portal
):
    create_and_process(org_a, admin_a, contact_data(1))
    with scopes_disabled():
        AutoInviteRule.objects.filter(pk=rule.pk).update(is_enabled=False)
    create_and_process(org_a, admin_a, contact_data(2))
    assert len(portal_users(portal)) == 2, "the cache still holds the enabled rule"
    auto_invite_rules_changed(org_a)
    create_and_process(org_a, admin_a, contact_data(3))
    assert len(portal_users(portal)) == 2


# --- sending at a per-org rate (AUT-12) ------------------------------------------------------


def test_aut12_waiting_invitations_leave_in_the_matched_language_once(
    org_a, admin_a, rule, portal, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        create_and_process(org_a, admin_a, contact_data(1), contact_data(2, country="FR"))
    # The consumer woke the sender once the batch committed.
    sent = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert [to for to, _subject in sent] == ["t1@example.jp", "t2@example.jp"]
    assert "Help centre" in sent[0][1]
    assert not any(u.auto_invite_waiting for u in portal_users(portal))
    assert all(u.invitation.sent_count == 1 for u in portal_users(portal))
    mail.outbox.clear()
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        assert auto_invites_send(org=org_a) == 0
    assert mail.outbox == [], "never sent twice"
    assert day_of(portal).sent == 2


def test_aut12_the_sender_costs_the_same_statements_for_one_portal_or_three(
    org_a, admin_a, rule, portal, django_capture_on_commit_callbacks
):
    """AUT-12, issue 13 Speed: the sender reads the org's templates once for its batch, so
    waiting users of three portals (each with a customised template in their language) cost
    the statements one portal's do; every mail still uses its own portal's template."""
    portals = [portal]
    with scopes_disabled():
        for n in range(3):
            other = PortalFactory(org=org_a, name=f"Portal {n}", slug=f"p{n}", languages=["ja"])
            AutoInviteRule.objects.create(
                org=org_a,
                portal=other,
                group=UserGroupFactory(portal=other),
                is_enabled=True,
                enabled_at=timezone.now() - timedelta(minutes=1),
                common_conditions={
                    "conditions": [{"field": "city", "op": "is", "value": f"City {n}"}],
                    "pattern": "",
                },
                languages=[{"language": "ja", "conditions": ANYONE}],
            )
            portals.append(other)
        for each in portals:
            EmailTemplate.objects.create(
                org=org_a,
                portal=each,
                kind="accept_invitation",
                language="ja",
                subject=f"Welcome to {each.slug}",
                body_html="<p>{link}</p>",
            )
    auto_invite_rules_changed(org_a)

    def sender_statements(*datas):
        create_and_process(org_a, admin_a, *datas)
        with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
            with CaptureQueriesContext(connection) as queries:
                assert auto_invites_send(org=org_a) == len(datas)
        return len(queries)

    one = sender_statements(contact_data(1), contact_data(2))
    free = [contact_data(10 + n, city=f"City {n}", subscription="free") for n in range(3)]
    three = sender_statements(*free)
    assert one == three
    assert {m.to[0]: m.subject for m in mail.outbox} == {
        "t1@example.jp": "Welcome to help",
        "t2@example.jp": "Welcome to help",
        "t10@example.jp": "Welcome to p0",
        "t11@example.jp": "Welcome to p1",
        "t12@example.jp": "Welcome to p2",
    }


def test_aut12_batches_in_a_row_queue_one_sender_not_one_each(
    org_a, admin_a, rule, portal, real_broker, django_capture_on_commit_callbacks
):
    """AUT-8, AUT-12: under a steady stream of evaluation batches the org's sender is queued
    once, not once a batch (each behind the next, the worker fell behind: issue 13 Speed);
    that sender invites every batch's contacts, and a batch after it started queues the next."""
    with django_capture_on_commit_callbacks(execute=True):
        create_and_process(org_a, admin_a, contact_data(1))
        create_and_process(org_a, admin_a, contact_data(2))
    senders = [args for name, args in queued_tasks() if name == send_auto_invites_task.name]
    assert senders == [[org_a.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        assert send_auto_invites_task.apply(args=(org_a.pk,)).get() == 2
        create_and_process(org_a, admin_a, contact_data(3))
    senders = [args for name, args in queued_tasks() if name == send_auto_invites_task.name]
    assert senders == [[org_a.pk], [org_a.pk]]
    assert [u.auto_invite_waiting for u in portal_users(portal)] == [False, False, True]


def test_aut12_one_orgs_backlog_never_delays_another_org(
    org_a, org_b, admin_a, admin_b, rule, settings, django_capture_on_commit_callbacks
):
    settings.AUTO_INVITE_SENDS_PER_MINUTE = 3
    with scopes_disabled():
        portal_b = PortalFactory(org=org_b, languages=["en"])
        AutoInviteRule.objects.create(
            org=org_b,
            portal=portal_b,
            group=UserGroupFactory(portal=portal_b),
            is_enabled=True,
            languages=[{"language": "en", "conditions": ANYONE}],
        )
    create_and_process(org_a, admin_a, *[contact_data(n) for n in range(10)])
    create_and_process(org_b, admin_b, *[contact_data(n, email=f"b{n}@x.jp") for n in range(2)])
    with django_capture_on_commit_callbacks(execute=True):
        assert auto_invite_send_sweep_task.apply().get() == 2, "one sender task per org"
    to = [m.to[0] for m in mail.outbox]
    assert sum(a.startswith("t") for a in to) == 3, "org A: its rate"
    assert sorted(a for a in to if a.startswith("b")) == ["b0@x.jp", "b1@x.jp"]
    mail.outbox.clear()
    with scope(org=org_a):
        assert auto_invites_send(org=org_a) == 0, "the minute's budget is spent"
        later = timezone.now() + timedelta(minutes=2)
        assert auto_invites_send(org=org_a, now=later) == 3


# --- invite existing records that match now (AUT-6) and retry (AUT-7) ------------------------


def test_aut6_invite_existing_records_counts_invited_already_failed(org_a, admin_a, rule, portal):
    rule_set(rule, is_enabled=False)
    contacts = create_and_process(
        org_a,
        admin_a,
        contact_data(1),
        contact_data(2),
        contact_data(3, subscription="free"),
        contact_data(4, email=""),
    )
    rule.refresh_from_db()
    with scope(org=org_a):
        counts = auto_invite_contacts(rule=rule, contacts_queryset_or_ids=[c.pk for c in contacts])
        assert (counts.invited, counts.already, counts.failed, counts.not_matched) == (2, 0, 1, 1)
        again = auto_invite_contacts(rule=rule, contacts_queryset_or_ids=Contact.objects.all())
        assert (again.invited, again.already, again.failed) == (0, 2, 1)
    assert [u.invited_by_id for u in portal_users(portal)] == [None, None]
    assert len(portal_users(portal)) == 2


# --- reminders (AUT-11) ------------------------------------------------------------------------


def test_aut11_one_reminder_with_a_fresh_link_never_a_second(
    org_a, admin_a, rule, portal, django_capture_on_commit_callbacks
):
    rule_set(rule, reminder_enabled=True, reminder_after_days=5)
    with django_capture_on_commit_callbacks(execute=True):
        create_and_process(org_a, admin_a, contact_data(1))
    [user] = portal_users(portal)
    first_link = user.invitation.token_hash
    mail.outbox.clear()
    four_days, six_days = (timezone.now() + timedelta(days=d) for d in (4, 6))
    with django_capture_on_commit_callbacks(execute=True):
        assert auto_invite_reminders_send(now=four_days) == 0, "not due yet"
        assert auto_invite_reminders_send(now=six_days) == 1
        assert auto_invite_reminders_send(now=six_days) == 0, "never a second"
        assert auto_invite_reminders_send(now=six_days + timedelta(days=30)) == 0
    [reminder] = mail.outbox
    assert reminder.to == ["t1@example.jp"]
    [user] = portal_users(portal)
    assert user.reminded_at == six_days
    assert user.invitation.sent_count == 2 and user.invitation.token_hash != first_link
    assert day_of(portal).reminded == 1


def test_aut11_no_reminder_when_off_or_accepted(org_a, admin_a, rule, portal):
    with scopes_disabled():
        create_and_process(org_a, admin_a, contact_data(1), contact_data(2))
        auto_invites_send(org=org_a)
    later = timezone.now() + timedelta(days=10)
    assert auto_invite_reminders_send(now=later) == 0, "reminders are off"
    rule_set(rule, reminder_enabled=True)
    with scopes_disabled():
        PortalUser.objects.filter(email="t1@example.jp").update(status=PortalUser.Status.ACTIVE)
    assert auto_invite_reminders_send(now=later) == 1, "only the one still invited"
