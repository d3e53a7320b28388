"""One shell on every page (issue 11, X-1): allauth's account pages keep the app's navigation
and an account menu, and the sessions page names each session's browser and system."""

from django.template import engines
from django.urls import reverse

from tests.users.factories import PASSWORD

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def test_x1_account_email_page_shows_the_org_navigation_of_a_member(client_admin_a, org_a):
    """X-1: /accounts/email/ has no org in its URL, yet its header keeps the org's navigation
    and the account menu with every account page."""
    response = client_admin_a.get(reverse("account_email"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{reverse("contact_list", kwargs={"org_slug": org_a.slug})}"' in html
    assert f'href="{reverse("user_list", kwargs={"org_slug": org_a.slug})}"' in html
    assert '<span class="org-name">Alpha Corp</span>' in html
    for name in ("account_email", "account_change_password", "mfa_index", "usersessions_list"):
        assert html.count(f'href="{reverse(name)}"') >= 2, name  # account menu and sub-navigation


def test_x1_standard_member_sees_no_admin_items_on_account_pages(client, member_a):
    """X-1: the navigation on account pages follows the member's permissions."""
    client.force_login(member_a.user)
    html = client.get(reverse("account_change_password")).content.decode()
    assert f'href="{reverse("contact_list", kwargs={"org_slug": member_a.org.slug})}"' in html
    assert reverse("user_list", kwargs={"org_slug": member_a.org.slug}) not in html


def test_x1_sessions_page_names_the_browser_and_system(client, admin_a):
    """X-1: a session signed in from Chrome on Windows reads "Chrome 120 on Windows", not the
    raw User-Agent."""
    response = client.post(
        reverse("account_login"),
        {"login": admin_a.user.email, "password": PASSWORD},
        HTTP_USER_AGENT=CHROME_ON_WINDOWS,
    )
    assert response.status_code == 302
    response = client.get(reverse("usersessions_list"), HTTP_USER_AGENT=CHROME_ON_WINDOWS)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Chrome 120 on Windows" in html
    assert "Mozilla/5.0" not in html
    assert f'href="{reverse("contact_list", kwargs={"org_slug": admin_a.org.slug})}"' in html


def test_x1_page_header_and_empty_state_includes_render_what_they_are_given():
    """X-1: the shared page header shows a title with its count (0 included) and the actions
    template; the empty state shows its action only when one is given."""
    django_engine = engines["django"]
    header = django_engine.from_string(
        '{% include "includes/page_header.html" with title="Contacts" count=0 %}'
    ).render({})
    assert "<h1>Contacts <span" in header and ">0</span>" in header
    assert 'class="actions"' not in header
    empty = django_engine.from_string(
        '{% include "includes/empty_state.html" with message="No contacts yet." %}'
    ).render({})
    assert "No contacts yet." in empty and "button" not in empty
    empty = django_engine.from_string(
        '{% include "includes/empty_state.html" with message="None" action_url="/new/"'
        ' action_label="Add one" %}'
    ).render({})
    assert '<a class="button primary" href="/new/">Add one</a>' in empty
