"""Sender addresses of the Campaigns team (CAM-7): a verification mail, only the adder
deletes, removing a member deletes theirs, another org's member address is refused."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from campaigns_users.models import CampaignRole, SenderAddress
from campaigns_users.senders import sender_add, sender_delete, verified_senders
from campaigns_users.services import member_leave, member_remove, team_start
from crm_portal.exceptions import ActionRefused
from portals.models import EmailTemplate
from tests.portals.factories import PortalFactory
from tests.portals.test_email_templates import form_data
from tests.users.factories import UserFactory

from .conftest import fresh

VERIFY = re.compile(r"https?://[^/\s]+(/senders/verify/[^/\s]+/)")


def add(org, actor, email, capture):
    mail.outbox.clear()
    with scope(org=org), capture(execute=True):
        sender = sender_add(org=org, actor=actor, email=email)
    [message] = mail.outbox
    assert message.to == [email]
    return sender, VERIFY.search(message.body).group(1)


def senders_of(org):
    with scopes_disabled():
        return sorted(SenderAddress.objects.filter(org=org).values_list("email", "verified_at"))


def test_cam7_add_mails_a_link_and_following_it_verifies(org_a, team_admin, capture):
    sender, link = add(org_a, team_admin, "news@alpha.example", capture)
    with scope(org=org_a):
        assert list(verified_senders(org_a)) == []
    client = Client()
    assert client.get(link).status_code == 200  # a prefetch verifies nothing
    with scopes_disabled():
        assert not SenderAddress.objects.get(pk=sender.pk).is_verified
    assert client.post(link).status_code == 200
    with scope(org=org_a):
        assert [s.email for s in verified_senders(org_a)] == ["news@alpha.example"]
    assert client.post(link).status_code == 404, "the link works once"
    assert client.get("/senders/verify/forged/").status_code == 404


def test_cam7_only_the_member_who_added_it_deletes_it(
    org_a, team_admin, invite, capture, client_admin_a
):
    member, link = invite()
    kenji = Client()
    kenji.force_login(UserFactory(email="kenji@example.jp"))
    kenji.post(f"{link}accept/")
    member = fresh(member)
    sender, _link = add(org_a, member, "kenji-news@alpha.example", capture)
    before = senders_of(org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="Only kenji@example.jp"):
        sender_delete(org=org_a, actor=team_admin, sender=sender)
    assert senders_of(org_a) == before
    with scope(org=org_a):
        sender_delete(org=org_a, actor=member, sender=sender)
    assert senders_of(org_a) == []


def test_cam7_removing_a_member_deletes_their_senders(org_a, team_admin, invite, capture):
    member, link = invite()
    kenji = Client()
    kenji.force_login(UserFactory(email="kenji@example.jp"))
    kenji.post(f"{link}accept/")
    add(org_a, fresh(member), "kenji-news@alpha.example", capture)
    add(org_a, team_admin, "admin-news@alpha.example", capture)
    with scope(org=org_a):
        member_remove(org=org_a, actor=team_admin, member=fresh(member))
    assert [email for email, _at in senders_of(org_a)] == ["admin-news@alpha.example"]


def test_cam7_leaving_deletes_their_senders_too(org_a, team_admin, invite, capture):
    member, link = invite()
    kenji = Client()
    kenji.force_login(UserFactory(email="kenji@example.jp"))
    kenji.post(f"{link}accept/")
    add(org_a, fresh(member), "kenji-news@alpha.example", capture)
    with scope(org=org_a):
        member_leave(member=fresh(member))
    assert senders_of(org_a) == []


def test_cam7_an_address_of_another_orgs_team_is_refused(
    org_a, org_b, admin_b, team_admin, capture
):
    with scope(org=org_b):
        team_start(org=org_b, crm_user=admin_b)
    before = senders_of(org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="another organisation"):
        sender_add(org=org_a, actor=team_admin, email=admin_b.email.upper())
    assert senders_of(org_a) == before


def test_cam7_a_member_without_the_permission_cannot_add(org_a, invite):
    member, _link = invite()
    with scope(org=org_a):
        role = CampaignRole.objects.create(org=org_a, name="Reader", permissions=["view_reports"])
        member = fresh(member)
        member.role, member.status = role, "active"
        with pytest.raises(PermissionDenied):
            sender_add(org=org_a, actor=member, email="x@alpha.example")


def test_cam7_senders_page_adds_and_lists(org_a, team_admin, client_admin_a, capture):
    url = f"/o/{org_a.slug}/campaigns/senders/"
    with capture(execute=True):
        response = client_admin_a.post(url, {"email": "news@alpha.example"})
    assert response.status_code == 302
    page = client_admin_a.get(url).content.decode()
    assert 'data-sender="news@alpha.example"' in page
    assert "Waiting for verification" in page


def test_cam7_por6_a_template_may_send_from_a_verified_sender_only(
    org_a, admin_a, team_admin, client_admin_a, capture
):
    """POR-6, CAM-7: the portal email editor refuses an unverified sender of the org (a clear
    error on the field, nothing saved) and takes a verified one."""
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Alpha Care", languages=["en"])
    _sender, link = add(org_a, team_admin, "news@alpha.example", capture)
    edit = reverse(
        "email_template_edit",
        kwargs={
            "org_slug": org_a.slug,
            "portal_pk": portal.pk,
            "kind": "accept_invitation",
            "language": "en",
        },
    )
    response = client_admin_a.post(edit, form_data(from_email="news@alpha.example"))
    assert response.status_code == 200
    assert "news@alpha.example is not verified yet" in response.content.decode()
    with scopes_disabled():
        assert not EmailTemplate.objects.filter(portal=portal).exists()
    Client().post(link)
    response = client_admin_a.post(edit, form_data(from_email="news@alpha.example"))
    assert response.status_code == 302
    with scopes_disabled():
        assert EmailTemplate.objects.get(portal=portal).from_email == "news@alpha.example"


def test_cam7_por6_the_template_form_offers_verified_senders_only(
    org_a, admin_a, team_admin, client_admin_a, capture
):
    """POR-6, CAM-7: the from-address field of the portal email editor offers the org's
    verified sender addresses (a labelled <datalist>), not the ones still unverified."""
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Alpha Care", languages=["en"])
    _sender, link = add(org_a, team_admin, "news@alpha.example", capture)
    add(org_a, team_admin, "pending@alpha.example", capture)
    Client().post(link)
    edit = reverse(
        "email_template_edit",
        kwargs={
            "org_slug": org_a.slug,
            "portal_pk": portal.pk,
            "kind": "accept_invitation",
            "language": "en",
        },
    )
    page = client_admin_a.get(edit).content.decode()
    assert 'list="id_from_email_senders"' in page
    datalist = page.split('<datalist id="id_from_email_senders"', 1)[1].split("</datalist>")[0]
    assert 'value="news@alpha.example"' in datalist
    assert "Verified sender address" in datalist
    assert "pending@alpha.example" not in datalist
    assert "Choose one of your organisation" in page
    response = client_admin_a.post(edit, form_data(from_email="pending@alpha.example"))
    assert "pending@alpha.example is not verified yet" in response.content.decode()
    with scopes_disabled():
        user = admin_a.user
    user.language = "ja"
    user.save(update_fields=["language"])
    page = client_admin_a.get(edit).content.decode()
    assert "認証済みの送信元アドレス" in page
    with scopes_disabled():
        assert not EmailTemplate.objects.filter(portal=portal).exists()
