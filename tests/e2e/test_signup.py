"""What a person sees and clicks: sign-up, verification, language, phone width, no CDN."""

import re
from urllib.parse import urlsplit

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.records.factories import ContactFactory
from tests.users.factories import PASSWORD, UserFactory
from users.models import CrmUser, Organization
from users.services.organizations import organization_create

pytestmark = pytest.mark.browser

SIGNUP_EMAIL = "nora.nimbus@example.com"
SIGNUP_PASSWORD = "violet-harbour-lantern-73"
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/[^\s/]+/")
PHONE = {"width": 375, "height": 740}


def sign_in(page, live_server, email, password=PASSWORD):
    """Signs in and waits for the page it leads to: a `goto` straight after the click could
    cancel the sign-in still on its way."""
    login = f"{live_server.url}/accounts/login/"
    page.goto(login)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: not url.startswith(login))


def dashboard_url_pattern(live_server):
    return re.compile(re.escape(live_server.url) + r"/o/[\w-]+/$")


def confirm_link_in(message) -> str:
    body = message.get_body(preferencelist=("plain", "html")).get_content()
    links = CONFIRM_LINK.findall(body)
    assert links, f"no confirmation link in:\n{body}"
    return links[0]


@pytest.fixture
def unverified_owner(transactional_db):
    user = UserFactory(email="uma.unverified@example.com")
    org = organization_create(name="Umber Works", owner=user, last_name="Unverified")
    assert not org.is_verified
    return user


@pytest.fixture
def contacts_a(org_a):
    with scopes_disabled():
        return [
            ContactFactory(org=org_a, first_name="Maximiliane-Sophie", last_name=f"Wolkenstein{n}")
            for n in range(3)
        ]


def test_org1_signup_verify_lands_on_dashboard(page, live_server, smtp_sink, settings):
    """ORG-1, ORG-2: signing up opens an unverified org with the signer as super admin;
    following the link from the real mail and confirming verifies it and lands on its
    dashboard."""
    # The live server speaks plain HTTP; production links are https behind the proxy.
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"

    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Organisation name").fill("Nimbus Trading")
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Nimbus")
    page.get_by_label("Email").fill(SIGNUP_EMAIL)
    page.get_by_label("Password:", exact=True).fill(SIGNUP_PASSWORD)
    page.get_by_label("Password (again):", exact=True).fill(SIGNUP_PASSWORD)
    page.get_by_role("button", name="Sign Up", exact=True).click()

    page.wait_for_url(f"{live_server.url}/accounts/confirm-email/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    expect(page.locator("main")).to_contain_text("We have sent an email to you for verification")

    message = smtp_sink.wait_for_message_to(SIGNUP_EMAIL)
    assert len(smtp_sink.messages_to(SIGNUP_EMAIL)) == 1
    assert len(smtp_sink.messages) == 1
    link = confirm_link_in(message)
    assert link.startswith(f"{live_server.url}/accounts/confirm-email/")

    with scopes_disabled():
        org = Organization.objects.get(name="Nimbus Trading")
    assert org.verified_at is None
    dashboard = f"{live_server.url}/o/{org.slug}/"

    # Mandatory verification: no session yet, and the right password still does not sign in.
    page.goto(dashboard)
    page.wait_for_url(re.compile(re.escape(f"{live_server.url}/accounts/login/")))
    sign_in(page, live_server, SIGNUP_EMAIL, SIGNUP_PASSWORD)
    page.wait_for_url(f"{live_server.url}/accounts/confirm-email/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    page.goto(dashboard)
    page.wait_for_url(re.compile(re.escape(f"{live_server.url}/accounts/login/")))
    org.refresh_from_db()
    assert org.verified_at is None

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    page.get_by_role("button", name="Confirm", exact=True).click()

    page.wait_for_url(dashboard)
    expect(page.get_by_role("heading", level=1)).to_have_text("Nimbus Trading")
    expect(page.locator("#unverified-banner")).to_have_count(0)

    org.refresh_from_db()
    assert org.verified_at is not None
    with scopes_disabled():
        members = list(CrmUser.objects.filter(org=org))
    assert len(members) == 1
    (member,) = members
    assert member.user.email == SIGNUP_EMAIL
    assert member.is_super_admin
    assert member.status == CrmUser.Status.ACTIVE
    assert (member.first_name, member.last_name) == ("Nora", "Nimbus")


def test_org2_unverified_org_shows_banner(page, live_server, unverified_owner):
    """ORG-2: while the org is unverified every page says invitations are held back."""
    sign_in(page, live_server, unverified_owner.email)

    page.wait_for_url(dashboard_url_pattern(live_server))
    expect(page.get_by_role("heading", level=1)).to_have_text("Umber Works")
    banner = page.locator("#unverified-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("not verified yet")
    expect(banner).to_contain_text("Invitations are recorded but not sent")
    expect(banner.get_by_role("link", name="Confirm or resend the email")).to_be_visible()


def test_x1_signup_page_in_japanese(page, live_server, transactional_db):
    """X-1: the language switcher in the top bar turns the page Japanese."""
    page.goto(f"{live_server.url}/accounts/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")

    with page.expect_navigation():
        page.get_by_label("Language").select_option(label="日本語")

    page.wait_for_url(f"{live_server.url}/accounts/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    # allauth's own Japanese catalogue: "Sign Up" is "ユーザー登録".
    expect(page.get_by_role("heading", level=1)).to_have_text("ユーザー登録")
    expect(page.locator("main form button[type=submit]")).to_have_text("ユーザー登録")
    expect(page.locator("#lang-select")).to_have_value("ja")

    # The choice sticks: the next page is Japanese too.
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")


def assert_fits_phone(page):
    overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"horizontal scroll: scrollWidth/innerWidth = {overflow}"


@pytest.mark.parametrize("viewport", [PHONE])
def test_foundation_readable_at_phone_width(page, live_server, admin_a, contacts_a):
    """X-1 foundation: at 375px the dashboard and contact list fit without sideways
    scrolling and the main navigation stays reachable."""
    sign_in(page, live_server, admin_a.user.email)
    page.wait_for_url(f"{live_server.url}/o/alpha/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Corp")

    nav = page.get_by_role("navigation", name="Main")
    page.get_by_role("button", name="Menu").click()  # the navigation collapses into a menu
    for name in ("Home", "Contacts"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert_fits_phone(page)

    nav.get_by_role("link", name="Contacts", exact=True).click()
    page.wait_for_url(f"{live_server.url}/o/alpha/contacts/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Contacts")
    expect(page.get_by_role("link", name="Maximiliane-Sophie Wolkenstein0")).to_be_visible()
    page.get_by_role("button", name="Menu").click()
    for name in ("Home", "Contacts"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert_fits_phone(page)


def test_x5_no_external_requests(page, live_server, admin_a):
    """X-5: landing, sign-up, sign-in and the dashboard load nothing from another host,
    and htmx comes from our own /static/."""
    origin = urlsplit(live_server.url)
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    def assert_htmx_from_static():
        page.wait_for_function("() => window.htmx !== undefined")
        htmx = page.locator("script[src*='htmx']")
        expect(htmx).to_have_attribute("src", re.compile("^/static/"))

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("link", name="Create your organisation")).to_be_visible()
    assert_htmx_from_static()

    page.goto(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("button", name="Sign Up", exact=True)).to_be_visible()
    assert_htmx_from_static()

    sign_in(page, live_server, admin_a.user.email)
    page.wait_for_url(f"{live_server.url}/o/alpha/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Corp")
    assert_htmx_from_static()
    page.wait_for_load_state("networkidle")

    assert any(urlsplit(url).path.startswith("/static/") for url in requested)
    assert any("htmx" in urlsplit(url).path for url in requested)
    foreign = [
        url
        for url in requested
        if (urlsplit(url).scheme, urlsplit(url).netloc) != (origin.scheme, origin.netloc)
    ]
    assert not foreign, f"requests to other hosts: {foreign}"
