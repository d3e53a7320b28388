"""The failed-invitation log of a portal (AUT-7): reasons as sentences, the viewer's time zone,
filters, keyset pages with a pinned query count, formula-safe exports, and retry."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from crm_portal.celery import app as celery_app
from portals.failed_invitations import PAGE_SIZE
from portals.models import AutoInviteRule, FailedInvitation, PortalUser
from records.models import Contact
from tests.conftest import client_for
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory
from users.models import AuditLogEntry, Profile

Reason = FailedInvitation.Reason
NOON_UTC = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def portal_manager(org_a):
    with scopes_disabled():
        profile = Profile.objects.create(org=org_a, name="Portals", permissions=["manage_portals"])
        return CrmUserFactory(org=org_a, profile=profile, time_zone="Asia/Tokyo")


@pytest.fixture
def portal_a(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Help centre")


def _failed(portal, *, reason=Reason.NO_EMAIL, at=NOON_UTC, name="Ann Example", contact=True):
    with scopes_disabled():
        person = ContactFactory(org=portal.org) if contact else None
        row = FailedInvitation.objects.create(
            org=portal.org,
            portal=portal,
            contact=person,
            record_name=name,
            email=person.email if person else "",
            reason=reason,
        )
        FailedInvitation.objects.filter(pk=row.pk).update(failed_at=at)
        row.refresh_from_db()
        return row


def _url(name, portal, **kwargs):
    return reverse(name, kwargs={"org_slug": portal.org.slug, "portal_pk": portal.pk, **kwargs})


def test_aut7_log_shows_name_link_email_local_time_and_reason(portal_manager, portal_a):
    row = _failed(portal_a, reason=Reason.ADDRESS_TAKEN)
    html = client_for(portal_manager).get(_url("failed_invitation_list", portal_a)).content.decode()
    contact_url = reverse("contact_detail", args=[portal_a.org.slug, row.contact_id])
    assert f'href="{contact_url}">Ann Example</a>' in html
    assert row.email in html
    assert "The address is already used by another user of this portal." in html
    assert 'datetime="2026-03-10T21:00:00+09:00"' in html  # the viewer's time zone


def test_aut7_empty_state(portal_manager, portal_a):
    html = client_for(portal_manager).get(_url("failed_invitation_list", portal_a)).content.decode()
    assert "No failed invitations." in html and 'id="failed-invitations"' not in html


def test_aut7_filter_by_reason_and_dates(portal_manager, portal_a):
    _failed(portal_a, reason=Reason.BOUNCED, name="Bounced Bea")
    _failed(portal_a, reason=Reason.NO_EMAIL, name="Old Olga", at=NOON_UTC - datetime.timedelta(30))
    client = client_for(portal_manager)
    url = _url("failed_invitation_list", portal_a)
    by_reason = client.get(url, {"reason": "bounced"}).content.decode()
    assert "Bounced Bea" in by_reason and "Old Olga" not in by_reason
    by_date = client.get(url, {"date_from": "2026-03-01", "date_to": "2026-03-10"}).content.decode()
    assert "Bounced Bea" in by_date and "Old Olga" not in by_date
    # 2026-03-10 12:00 UTC is already 2026-03-10 21:00 in Tokyo: "until the 9th" leaves it out
    assert "Bounced Bea" not in client.get(url, {"date_to": "2026-03-09"}).content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"reason": "nonsense"},
        {"date_from": "2026-13-45"},
        {"date_to": "\x00"},
        {"date_from": "x" * 10_000},
        {"after": "1e309_9999999999999999999999"},
        {"after": "nan_1"},
        {"reason": ["bounced", "no_email"], "date_from": "-1"},
    ],
)
def test_aut7_hostile_filters_never_500(portal_manager, portal_a, params):
    _failed(portal_a)
    client = client_for(portal_manager)
    response = client.get(_url("failed_invitation_list", portal_a), params)
    assert response.status_code == 200
    assert (
        client.get(_url("failed_invitation_export", portal_a, fmt="csv"), params).status_code == 200
    )


def test_aut7_keyset_pages_and_pinned_query_count(
    portal_manager, portal_a, django_assert_num_queries
):
    with scopes_disabled():
        FailedInvitation.objects.bulk_create(
            FailedInvitation(
                org=portal_a.org,
                portal=portal_a,
                record_name=f"Person {i:03}",
                reason=Reason.NO_EMAIL,
            )
            for i in range(PAGE_SIZE + 5)
        )
    client = client_for(portal_manager)
    url = _url("failed_invitation_list", portal_a)
    client.get(url)  # the session and the membership warmed up
    # 6 since issue 21: the header's org switcher is the membership's one org, no statement.
    with django_assert_num_queries(6):
        first = client.get(url).content.decode()
    assert first.count('name="ids"') == PAGE_SIZE and 'id="failed-next"' in first
    next_href = first.split('id="failed-next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(url + next_href).content.decode()
    assert second.count('name="ids"') == 5 and 'id="failed-next"' not in second
    assert "Person 000" in second and "Person 054" in first


def test_aut7_export_csv_and_xlsx_are_formula_safe(portal_manager, portal_a):
    _failed(portal_a, name='=HYPERLINK("http://evil.example","x")')
    client = client_for(portal_manager)
    csv_body = client.get(_url("failed_invitation_export", portal_a, fmt="csv")).content
    text = csv_body.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "The contact has no email address." in text
    xlsx = client.get(_url("failed_invitation_export", portal_a, fmt="xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    names = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert names[1].startswith("'=HYPERLINK")
    assert client.get(_url("failed_invitation_export", portal_a, fmt="exe")).status_code == 404


def test_aut7_retry_selected_marks_and_queues(
    org_a, portal_manager, portal_a, django_capture_on_commit_callbacks
):
    chosen, other = _failed(portal_a), _failed(portal_a, name="Not chosen")
    with scopes_disabled():
        group = UserGroupFactory(portal=portal_a)
        AutoInviteRule.objects.create(org=org_a, portal=portal_a, group=group, languages=[])
    client = client_for(portal_manager)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(_url("failed_invitation_retry", portal_a), {"ids": [chosen.pk]})
    assert response.status_code == 302 and len(callbacks) == 1
    with scopes_disabled():
        chosen.refresh_from_db(), other.refresh_from_db()
        assert chosen.retried_at is not None and other.retried_at is None
        assert AuditLogEntry.objects.filter(action="autoinvite.retried").count() == 1


def test_aut7_retry_refused_without_settings_or_of_another_portal(
    org_a, org_b, portal_manager, portal_a
):
    foreign = _failed(PortalFactory(org=org_b))
    client = client_for(portal_manager)
    response = client.post(_url("failed_invitation_retry", portal_a), {"ids": [foreign.pk]})
    assert response.status_code == 302
    with scopes_disabled():
        foreign.refresh_from_db()
        assert foreign.retried_at is None
    assert client.post(_url("failed_invitation_retry", portal_a), {"ids": ["x"]}).status_code == 302


def test_aut7_outsider_404_member_403_wrong_method_405(
    client_admin_b, client_member_a, portal_manager, portal_a
):
    url = _url("failed_invitation_list", portal_a)
    assert client_admin_b.get(url).status_code == 404
    assert client_member_a.get(url).status_code == 403
    assert client_for(portal_manager).post(url).status_code == 405
    assert (
        client_for(portal_manager).get(_url("failed_invitation_retry", portal_a)).status_code == 405
    )


def test_aut7_reason_sentences_in_japanese(portal_manager, portal_a):
    _failed(portal_a, reason=Reason.BOUNCED)
    user = portal_manager.user
    user.language = "ja"
    user.save(update_fields=["language"])
    html = client_for(portal_manager).get(_url("failed_invitation_list", portal_a)).content.decode()
    assert "The email bounced." not in html and "失敗した招待" in html


@pytest.fixture
def eager_tasks():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_aut7_retry_invites_only_contacts_that_now_can_be(
    org_a, portal_manager, portal_a, eager_tasks, django_capture_on_commit_callbacks
):
    """AUT-7: retry re-evaluates: the contact whose address was fixed is invited, the one
    still without an address fails again and is logged again."""
    with scopes_disabled():
        org_a.verified_at = timezone.now()
        org_a.save(update_fields=["verified_at"])
        AutoInviteRule.objects.create(
            org=org_a,
            portal=portal_a,
            group=UserGroupFactory(portal=portal_a),
            is_enabled=True,
            enabled_at=timezone.now(),
            languages=[{"language": "en", "conditions": {"conditions": [], "pattern": ""}}],
        )
    fixed, still = _failed(portal_a, name="Fixed Fay"), _failed(portal_a, name="Still Stan")
    with scopes_disabled():
        Contact.objects.filter(pk=still.contact_id).update(email="")
    client = client_for(portal_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("failed_invitation_retry", portal_a), {"ids": [fixed.pk, still.pk]}
        )
    assert response.status_code == 302
    with scopes_disabled():
        invited = set(PortalUser.objects.filter(portal=portal_a).values_list("contact", flat=True))
        assert invited == {fixed.contact_id}
        again = FailedInvitation.objects.filter(portal=portal_a, contact_id=still.contact_id)
        assert again.count() == 2 and again.filter(retried_at=None).count() == 1
