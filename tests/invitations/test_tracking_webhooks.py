"""Delivery reports through the mail provider's tracking webhook (AUT-9, AUT-7): payloads in
the providers' own formats (Mailgun's signed JSON events, Postmark's basic-auth bounce and
spam-complaint records) posted to /hooks/mail/<provider>/tracking/ mark the portal user's
invitation bounced, rejected or complained, add a failed-invitation row with the provider's
words, and the portal's Users tab shows it. Forged, unsigned, unauthenticated and malformed
calls are refused and change nothing; a provider repeating a report adds no second row."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.core import mail
from django.test import Client
from django_scopes import scope, scopes_disabled

from invitations.models import DeliveryAttempt, Invitation
from portals.members import portal_user_invite, portal_users_reinvite
from portals.models import FailedInvitation, PortalUser
from tests.invitations.test_delivery import smtp  # noqa: F401 (a fixture: a real SMTP server)
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.records.factories import ContactFactory

SECRET = "hooks:correct-horse-battery"
SIGNING_KEY = "mailgun-signing-key-0123456789"


@pytest.fixture
def hooks(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    return settings


@pytest.fixture
def invited(org_a, admin_a, django_capture_on_commit_callbacks):
    """A contact invited to a portal, the mail handed over (locmem backend)."""
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en"])
        group = UserGroupFactory(portal=portal, name="Customers")
        contact = ContactFactory(
            org=org_a, first_name="Ana", last_name="Silva", email="ana@example.com"
        )
    mail.outbox.clear()
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        portal_user = portal_user_invite(actor=admin_a, portal=portal, contact=contact, group=group)
    assert len(mail.outbox) == 1
    return portal_user


def invitation_of(portal_user) -> Invitation:
    with scopes_disabled():
        return PortalUser.objects.get(pk=portal_user.pk).invitation


def failures(portal_user) -> list[FailedInvitation]:
    with scopes_disabled():
        return list(FailedInvitation.objects.filter(portal=portal_user.portal_id))


def mailgun_payload(invitation, *, event="failed", severity="permanent", key=SIGNING_KEY, **over):
    """A Mailgun webhook event as Mailgun posts it (JSON, with its HMAC signature block)."""
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    event_data = {
        "event": event,
        "severity": severity,
        "reason": "bounce",
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": float(timestamp),
        "recipient": invitation.email,
        "message": {"headers": {"message-id": "20261206.1@mg.example.com"}},
        "user-variables": {"invitation": str(invitation.pk), "send": str(invitation.sent_count)},
        "delivery-status": {
            "code": 550,
            "message": "5.1.1 The email account that you tried to reach does not exist.",
            "description": "",
        },
        **over,
    }
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": event_data,
    }


def postmark_bounce(invitation, *, record_type="Bounce", kind="HardBounce", metadata=True):
    """A Postmark bounce (or spam complaint) webhook record as Postmark posts it."""
    record = {
        "RecordType": record_type,
        "ID": 4323372036854775807,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 512,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": invitation.email,
        "From": "noreply@example.com",
        "BouncedAt": "2026-12-06T16:33:54.9070259Z",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Invitation",
        "MessageStream": "outbound",
    }
    if metadata:
        record["Metadata"] = {
            "invitation": str(invitation.pk),
            "send": str(invitation.sent_count),
        }
    return record


def basic_auth(credentials=SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def post(provider, payload, **headers):
    return Client().post(
        f"/hooks/mail/{provider}/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        **headers,
    )


def test_aut9_mailgun_bounce_marks_the_invitation_and_logs_the_providers_reason(
    hooks, invited, client_admin_a
):
    invitation = invitation_of(invited)
    response = post("mailgun", mailgun_payload(invitation), **basic_auth())
    assert response.status_code == 200
    invitation = invitation_of(invited)
    assert invitation.delivery == Invitation.Delivery.BOUNCED
    assert "does not exist" in invitation.delivery_detail
    [failure] = failures(invited)
    assert failure.reason == FailedInvitation.Reason.BOUNCED
    assert failure.email == "ana@example.com" and failure.record_name == "Ana Silva"
    assert "5.1.1 The email account that you tried to reach does not exist." in failure.detail
    assert failure.invitation_id == invitation.pk and failure.contact_id == invited.contact_id
    # The portal's Users tab follows (AUT-9, POR-4).
    page = client_admin_a.get(f"/o/{invited.org.slug}/portals/{invited.portal_id}/users/")
    body = page.content.decode()
    assert 'data-delivery="bounced"' in body and "Bounced" in body
    assert "tried to reach does not exist" in body


def test_aut9_postmark_bounce_and_spam_complaint(hooks, invited):
    invitation = invitation_of(invited)
    complaint = postmark_bounce(invitation, record_type="SpamComplaint", kind="SpamComplaint")
    assert post("postmark", complaint, **basic_auth()).status_code == 200
    assert invitation_of(invited).delivery == Invitation.Delivery.COMPLAINED
    assert [f.reason for f in failures(invited)] == [FailedInvitation.Reason.COMPLAINED]
    # A bounce reported after the complaint: the first failure stands, no second row.
    assert post("postmark", postmark_bounce(invitation), **basic_auth()).status_code == 200
    assert invitation_of(invited).delivery == Invitation.Delivery.COMPLAINED
    assert len(failures(invited)) == 1


def test_aut9_a_report_without_metadata_finds_the_send_by_the_providers_message_id(hooks, invited):
    invitation = invitation_of(invited)
    with scopes_disabled():
        DeliveryAttempt.objects.filter(invitation=invitation).update(
            provider_message_id="883953f4-6105-42a2-a16a-77a8eac79483"
        )
    payload = postmark_bounce(invitation, metadata=False)
    assert post("postmark", payload, **basic_auth()).status_code == 200
    assert invitation_of(invited).delivery == Invitation.Delivery.BOUNCED
    assert failures(invited)[0].reason == FailedInvitation.Reason.BOUNCED


def test_aut9_a_repeated_report_logs_one_failure(hooks, invited):
    payload = mailgun_payload(invitation_of(invited))
    for _ in range(3):  # providers retry a webhook until they see a 2xx, and sometimes after
        assert post("mailgun", payload, **basic_auth()).status_code == 200
    assert len(failures(invited)) == 1


def test_aut9_mailgun_rejected_is_a_provider_rejection(hooks, invited):
    payload = mailgun_payload(
        invitation_of(invited),
        event="rejected",
        reject={"reason": "Sandbox subdomains are for test purposes only"},
    )
    assert post("mailgun", payload, **basic_auth()).status_code == 200
    [failure] = failures(invited)
    assert failure.reason == FailedInvitation.Reason.PROVIDER_REJECTED
    assert "Sandbox subdomains" in failure.detail


def test_aut9_delivered_and_temporary_reports_are_not_failures(hooks, invited):
    invitation = invitation_of(invited)
    deferred = mailgun_payload(invitation, severity="temporary")
    assert post("mailgun", deferred, **basic_auth()).status_code == 200
    assert invitation_of(invited).delivery == Invitation.Delivery.UNKNOWN
    delivered = mailgun_payload(invitation, event="delivered", severity=None)
    assert post("mailgun", delivered, **basic_auth()).status_code == 200
    assert invitation_of(invited).delivery == Invitation.Delivery.DELIVERED
    assert failures(invited) == []


def test_aut9_reports_of_an_older_send_or_another_address_change_nothing(
    hooks, invited, admin_a, django_capture_on_commit_callbacks
):
    old = mailgun_payload(invitation_of(invited))  # about send 1
    with scope(org=invited.org), django_capture_on_commit_callbacks(execute=True):
        portal_users_reinvite(actor=admin_a, portal=invited.portal, portal_users=[invited])
    assert invitation_of(invited).sent_count == 2
    assert post("mailgun", old, **basic_auth()).status_code == 200
    other = mailgun_payload(invitation_of(invited), recipient="someone.else@example.com")
    assert post("mailgun", other, **basic_auth()).status_code == 200
    assert invitation_of(invited).delivery == Invitation.Delivery.UNKNOWN
    assert failures(invited) == []


def test_aut9_a_new_send_clears_the_last_report(
    hooks, invited, admin_a, django_capture_on_commit_callbacks
):
    assert (
        post("mailgun", mailgun_payload(invitation_of(invited)), **basic_auth()).status_code == 200
    )
    with scope(org=invited.org), django_capture_on_commit_callbacks(execute=True):
        portal_users_reinvite(actor=admin_a, portal=invited.portal, portal_users=[invited])
    invitation = invitation_of(invited)
    assert invitation.delivery == Invitation.Delivery.UNKNOWN and invitation.delivery_detail == ""
    assert len(failures(invited)) == 1  # the log keeps what happened to the first send


@pytest.mark.parametrize(
    "forgery",
    ["wrong signature", "no signature", "no basic auth", "wrong basic auth", "malformed"],
)
def test_aut9_forged_unsigned_or_malformed_calls_are_refused(hooks, invited, forgery):
    invitation = invitation_of(invited)
    payload, headers = mailgun_payload(invitation), basic_auth()
    if forgery == "wrong signature":
        payload = mailgun_payload(invitation, key="not-the-signing-key")
    elif forgery == "no signature":
        del payload["signature"]
    elif forgery == "no basic auth":
        headers = {}
    elif forgery == "wrong basic auth":
        headers = basic_auth("hooks:guess")
    else:
        payload = {"signature": payload["signature"], "event-data": ["not", "an", "event"]}
    assert post("mailgun", payload, **headers).status_code == 400
    assert post("postmark", postmark_bounce(invitation), **basic_auth("x:y")).status_code == 400
    assert invitation_of(invited).delivery == Invitation.Delivery.UNKNOWN
    assert failures(invited) == []


def test_aut9_junk_bodies_with_good_credentials_are_refused_not_crashed(hooks, invited):
    client = Client()
    url = "/hooks/mail/postmark/tracking/"
    for body in ["{not json", "[]", '"text"', '{"FromFull": {}}', "\x00" * 10]:
        response = client.post(url, data=body, content_type="application/json", **basic_auth())
        assert response.status_code == 400, body
    assert failures(invited) == []


def test_aut9_without_a_webhook_secret_the_webhooks_do_not_exist(settings, invited):
    """anymail would accept unauthenticated calls without a secret: refuse them all."""
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    payload = postmark_bounce(invitation_of(invited))
    assert post("postmark", payload).status_code == 404
    assert post("mailgun", mailgun_payload(invitation_of(invited))).status_code == 404
    assert invitation_of(invited).delivery == Invitation.Delivery.UNKNOWN


def test_aut9_a_provider_not_set_up_or_unknown_is_404_and_other_methods_405(settings, invited):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}  # Mailgun also needs its signing key
    payload = mailgun_payload(invitation_of(invited))
    assert post("mailgun", payload, **basic_auth()).status_code == 404
    assert post("no-such-provider", payload, **basic_auth()).status_code == 404
    assert Client().get("/hooks/mail/postmark/tracking/", **basic_auth()).status_code == 405
    assert Client().head("/hooks/mail/postmark/tracking/", **basic_auth()).status_code == 200


def test_aut7_an_address_the_smtp_server_refuses_is_logged_as_rejected(
    org_a,
    admin_a,
    smtp,  # noqa: F811 (the fixture imported above)
    django_capture_on_commit_callbacks,
):
    """A real SMTP server refusing the recipient (550) at send time: the invitation is
    rejected and the failed-invitation log says so, with the server's words."""
    server = smtp()
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en"])
        group = UserGroupFactory(portal=portal, name="Customers")
        contact = ContactFactory(org=org_a, last_name="Nobody", email="bounce.me@example.com")
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        portal_user = portal_user_invite(actor=admin_a, portal=portal, contact=contact, group=group)
    assert server.received == []
    assert invitation_of(portal_user).delivery == Invitation.Delivery.REJECTED
    [failure] = failures(portal_user)
    assert failure.reason == FailedInvitation.Reason.PROVIDER_REJECTED
    assert "Recipient address rejected" in failure.detail
