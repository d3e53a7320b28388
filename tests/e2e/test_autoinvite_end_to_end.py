"""AUT-1 … AUT-5 end to end: an administrator builds a two-language auto-invite rule with
common conditions in the condition builder and turns it on; contacts created through the
contact form and through the JSON API each receive one invitation, in the language their
conditions choose, in a real SMTP sink; a contact that does not match receives none; the
contact's page explains the verdict.

Events: as in the other browser test that depends on record events being processed
(test_records.py), a real `outbox_relay` process and a real Celery worker run against the test
database and the Redis broker (tests/workers.py), the relay woken by the commit's NOTIFY
exactly as in production. Eager tasks would not do here: nothing in the web process publishes a
record event, only the relay does. The worker sends the mail through Django's SMTP backend to
the aiosmtpd sink (`smtp_sink.process_env()`). Every wait is on an explicit signal: expect()
in the page, or a poll of the database or of the sink with a deadline.
"""

import json
import re
import urllib.request

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from portals.models import AutoInviteRule, PortalUser
from records.api import api_token_create
from records.models import Contact, RecordEvent
from tests.e2e.helpers import htmx_settled
from tests.e2e.test_signup import sign_in
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

EMAIL = re.compile(r"^Email:?$")  # not "Secondary email"
WORKER_TIMEOUT = 120  # seconds: generous for a loaded 2-core machine


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Help centre", languages=["ja", "en"])
        UserGroupFactory(portal=portal, name="Customers")
        return portal


def build_rule(page, live_server, org, portal):
    """The Auto-invite tab: common "Subscription is paid and Email is not empty" (the pattern
    typed, checked while typed), Japanese for Japan first, then English for France or Britain;
    on create; saved, then turned on."""
    page.goto(f"{live_server.url}/o/{org.slug}/portals/{portal.pk}/")
    page.get_by_role("link", name="Auto-invite").click()
    expect(page.get_by_text("Auto-invite is not set up for this portal yet.")).to_be_visible()

    page.locator("#id_trigger").select_option("create")
    page.locator("#id_group").select_option(label="Customers")
    page.get_by_label("Several languages, each with its own conditions").check()

    page.locator("#common-add").click()
    htmx_settled(page)
    page.get_by_label("Field of condition 1").first.select_option("subscription")
    htmx_settled(page)
    page.locator("#common-0-value").select_option("paid")
    page.locator("#common-add").click()
    htmx_settled(page)
    page.locator("#common-1-field").select_option("email")
    htmx_settled(page)
    page.locator("#common-1-op").select_option("not_empty")
    htmx_settled(page)
    expect(page.locator("#common-1-value")).to_have_count(0)  # "is not empty" takes no value
    pattern = page.locator("#common-pattern")
    pattern.fill("1 and 3")
    expect(page.locator("#common-pattern-check")).not_to_be_empty()  # no condition 3
    pattern.fill("1 and 2")
    expect(page.locator("#common-pattern-check")).to_be_empty()

    page.get_by_label("Invite in Japanese").check()
    page.get_by_label("Invite in English").check()
    page.get_by_role("button", name="Move Japanese up").click()
    htmx_settled(page)
    expect(page.locator(".language-block").first).to_have_id("lang-ja-block")
    page.locator("#lang-ja-add").click()
    htmx_settled(page)
    page.locator("#lang-ja-0-field").select_option("country")
    htmx_settled(page)
    page.locator("#lang-ja-0-value").fill("JP")
    page.locator("#lang-en-add").click()
    htmx_settled(page)
    page.locator("#lang-en-0-field").select_option("country")
    htmx_settled(page)
    page.locator("#lang-en-0-op").select_option("one_of")
    htmx_settled(page)
    page.locator("#lang-en-0-value").fill("FR;GB")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Auto-invite settings saved.")).to_be_visible()
    page.locator("#autoinvite-toggle").click()
    expect(page.get_by_text("Auto-invite is on for contacts saved from now on.")).to_be_visible()
    expect(page.locator("#autoinvite-toggle")).to_have_text("Turn auto-invite off")


def create_contact_in_the_form(page, live_server, org, *, first, last, email, country, code, plan):
    """The contact form, as a person fills it: the country picked from its combobox by name."""
    page.goto(f"{live_server.url}/o/{org.slug}/contacts/new/")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label(EMAIL).fill(email)
    page.get_by_label("Subscription").select_option(plan)
    country_box = page.get_by_role("combobox", name="Country")
    country_box.press_sequentially(country)
    option = page.locator("#id_country_listbox").get_by_role("option").filter(has_text=country)
    expect(option).to_have_count(1)
    option.click()
    expect(country_box).to_have_value(country)
    expect(page.locator("#id_country_value")).to_have_value(code)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=f"{first} {last}")).to_be_visible()
    return page.url


def create_contact_through_the_api(live_server, secret, body) -> dict:
    """POST /api/v1/contacts/ over HTTP to the live server, as an integration would."""
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/contacts/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())


def events_processed(org) -> bool:
    with scopes_disabled():
        events = RecordEvent.objects.filter(org=org)
        return events.exists() and not events.filter(processed_at=None).exists()


def nothing_waits(portal) -> bool:
    with scopes_disabled():
        return not PortalUser.objects.filter(portal=portal, auto_invite_waiting=True).exists()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html", "plain")).get_content()


def test_aut1_aut2_aut3_aut4_aut5_rule_built_in_the_browser_invites_ui_and_api_contacts(
    page, live_server, admin_a, org_a, portal, smtp_sink, start_celery, start_relay
):
    worker = start_celery("worker", **smtp_sink.process_env())
    relay = start_relay(**smtp_sink.process_env())

    def logs():
        return relay.log() + worker.log()

    sign_in(page, live_server, admin_a.email)
    build_rule(page, live_server, org_a, portal)
    with scopes_disabled():
        rule = AutoInviteRule.objects.get(portal=portal)
        assert rule.is_enabled and rule.trigger == "create"
        assert [entry["language"] for entry in rule.languages] == ["ja", "en"]

    # A (Japan) and B (France), both paid, through the contact form
    yuki_url = create_contact_in_the_form(
        page,
        live_server,
        org_a,
        first="Yuki",
        last="Tanaka",
        email="yuki@example.jp",
        country="Japan",
        code="JP",
        plan="paid",
    )
    create_contact_in_the_form(
        page,
        live_server,
        org_a,
        first="Marie",
        last="Dubois",
        email="marie@example.fr",
        country="France",
        code="FR",
        plan="paid",
    )
    # C (Britain, paid) and D (Japan, free: matches no rule) through the JSON API
    with scope(org=org_a):
        _token, secret = api_token_create(org=org_a, actor=admin_a, name="Website")
    create_contact_through_the_api(
        live_server,
        secret,
        {
            "first_name": "Oliver",
            "last_name": "Smith",
            "email": "oliver@example.co.uk",
            "country": "GB",
            "subscription": "paid",
        },
    )
    free = create_contact_through_the_api(
        live_server,
        secret,
        {
            "first_name": "Kenji",
            "last_name": "Mori",
            "email": "kenji@example.jp",
            "country": "JP",
            "subscription": "free",
        },
    )

    yuki = smtp_sink.wait_for_message_to("yuki@example.jp", WORKER_TIMEOUT)
    marie = smtp_sink.wait_for_message_to("marie@example.fr", WORKER_TIMEOUT)
    oliver = smtp_sink.wait_for_message_to("oliver@example.co.uk", WORKER_TIMEOUT)
    # Every event evaluated and every invitation handed to the sender: nothing more can come.
    assert wait_for(lambda: events_processed(org_a), WORKER_TIMEOUT), logs()
    assert wait_for(lambda: nothing_waits(portal), WORKER_TIMEOUT), logs()

    assert str(yuki["Subject"]) == "Help centre への招待"
    assert "Tanaka 様" in html_of(yuki) and "招待を承諾する" in html_of(yuki)
    for message, first_name in ((marie, "Marie"), (oliver, "Oliver")):
        assert str(message["Subject"]) == "Your invitation to Help centre"
        assert f"Hello {first_name}," in html_of(message)
        assert "Accept the invitation" in html_of(message)
    for address in ("yuki@example.jp", "marie@example.fr", "oliver@example.co.uk"):
        assert len(smtp_sink.messages_to(address)) == 1, address
    assert smtp_sink.messages_to("kenji@example.jp") == []
    assert len(smtp_sink.messages) == 3
    with scopes_disabled():
        languages = dict(PortalUser.objects.filter(portal=portal).values_list("email", "language"))
        assert Contact.objects.get(pk=free["id"]).subscription == "free"
    assert languages == {
        "yuki@example.jp": "ja",
        "marie@example.fr": "en",
        "oliver@example.co.uk": "en",
    }

    # Why (not) invited: A's page says it is a user now, Japanese chosen, each condition true
    page.goto(yuki_url)
    panel = page.locator("#auto-invite-explain .auto-invite-portal")
    expect(panel).to_have_attribute("data-verdict", "member")
    expect(panel.locator(".verdict")).to_have_text(
        "Already a user of this portal: Invitation not accepted. Language chosen: Japanese."
    )
    expect(panel.locator("table.trace caption")).to_have_text(
        ["Common conditions — 1 and 2: true", "Conditions for Japanese: true"]
    )
    # D's page: the conditions do not match, and the trace shows the subscription's value
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/{free['id']}/")
    panel = page.locator("#auto-invite-explain .auto-invite-portal")
    expect(panel).to_have_attribute("data-verdict", "not_matched")
    expect(panel.locator(".verdict")).to_have_text("The conditions do not match: no invitation.")
    expect(panel.locator("table.trace").first).to_contain_text("1 and 2: false")
