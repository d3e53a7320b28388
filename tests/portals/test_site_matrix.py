"""The portal permission matrix (POR-7, POR-2, POR-1; issue 12 Deliver 4): every route of
portals/site_urls.py × who asks (portal users of groups with each record scope, with and
without create/edit; an anonymous visitor; a signed-in person who is no user of the portal;
anyone at a disabled portal) × whose record (their own, a related one, another contact of the
same org outside the slice, another org's) → the status expected. A route without a row here
fails test_por7_every_portal_route_has_a_row."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from portals import site_urls
from records.models import Account, Contact
from records.notes import attachment_add
from tests.portals.site_world import group_modules, make_world
from tests.users.factories import CrmUserFactory

MODULES = ("contacts", "accounts")
TARGETS = ("own", "related", "other", "foreign")


def record_of(world, module: str, target: str) -> int:
    if module == "contacts":
        return {
            "own": world.me,
            "related": world.colleague,
            "other": world.stranger,
            "foreign": world.foreign,
        }[target].pk
    return {
        "own": world.account,
        "related": world.account,
        "other": world.other_account,
        "foreign": world.foreign_account,
    }[target].pk


def reaches(scope: str, module: str, target: str) -> bool:
    """POR-2: own = the contact (accounts: its account); related = the contact and the
    contacts of its account; account = the contacts of its account (and the account)."""
    if target in ("other", "foreign"):
        return False
    if module == "accounts" or target == "own":
        return True
    return scope in ("related", "account")


def url(name: str, world, **kwargs) -> str:
    return reverse(name, kwargs={"portal_slug": world.portal.slug, **kwargs})


# route name -> rows(world, scope, may_write) -> [(method, url, expected status for a portal
# user of that group)]
ROWS = {
    "portal_home": lambda w, scope, write: [("get", url("portal_home", w), 200)],
    "portal_login": lambda w, scope, write: [("get", url("portal_login", w), 302)],
    "portal_logout": lambda w, scope, write: [("post", url("portal_logout", w), 302)],
    "portal_theme": lambda w, scope, write: [("get", url("portal_theme", w), 200)],
    "portal_language": lambda w, scope, write: [("post", url("portal_language", w), 302)],
    # POR-5 (pemailchange): an unknown email-change link is the same 404 page for everyone.
    "portal_email_confirm": lambda w, scope, write: [
        ("get", url("portal_email_confirm", w, token="no-such-link"), 404),
        ("post", url("portal_email_confirm", w, token="no-such-link"), 404),
    ],
    "portal_record_list": lambda w, scope, write: [
        *(("get", url("portal_record_list", w, module=m), 200) for m in MODULES),
        ("get", url("portal_record_list", w, module="deals"), 404),
    ],
    "portal_record_create": lambda w, scope, write: [
        ("get", url("portal_record_create", w, module=m), 200 if write else 404) for m in MODULES
    ],
    "portal_record_detail": lambda w, scope, write: [
        (
            "get",
            url("portal_record_detail", w, module=m, pk=record_of(w, m, t)),
            200 if reaches(scope, m, t) else 404,
        )
        for m in MODULES
        for t in TARGETS
    ],
    "portal_record_edit": lambda w, scope, write: [
        (
            "get",
            url("portal_record_edit", w, module=m, pk=record_of(w, m, t)),
            200 if write and reaches(scope, m, t) else 404,
        )
        for m in MODULES
        for t in TARGETS
    ],
    # pprofile (POR-7, X-2): the portal user's own account; two-factor's pages go to its
    # set-up while it is off; "forgot your password" and its link are public.
    "portal_login_mfa": lambda w, scope, write: [("get", url("portal_login_mfa", w), 302)],
    "portal_profile": lambda w, scope, write: [("get", url("portal_profile", w), 200)],
    "portal_password_change": lambda w, scope, write: [
        ("get", url("portal_password_change", w), 200)
    ],
    "portal_mfa": lambda w, scope, write: [("get", url("portal_mfa", w), 200)],
    "portal_mfa_recovery": lambda w, scope, write: [("get", url("portal_mfa_recovery", w), 302)],
    "portal_mfa_off": lambda w, scope, write: [("get", url("portal_mfa_off", w), 302)],
    "portal_password_reset": lambda w, scope, write: [
        ("get", url("portal_password_reset", w), 200)
    ],
    "portal_password_reset_key": lambda w, scope, write: [
        ("get", url("portal_password_reset_key", w, uidb36="zz", key="not-a-key"), 200)
    ],
}


def attachment_of(world, module: str, target: str) -> int:
    """A file on the target record (POR-7), for the download rows."""
    pk = record_of(world, module, target)
    model = Contact if module == "contacts" else Account
    with scopes_disabled():
        org = model.objects.get(pk=pk).org
        return attachment_add(
            org=org,
            module=module,
            record_id=pk,
            upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 matrix"),
        ).pk


# POR-7: notes and attachments. A POST without data from a user whose group has the action
# shows the form's error (200); without the action, or outside the slice: 404.
ROWS["portal_note_add"] = lambda w, scope, write: [
    (
        "post",
        url("portal_note_add", w, module=m, pk=record_of(w, m, t)),
        200 if write and reaches(scope, m, t) else 404,
    )
    for m in MODULES
    for t in TARGETS
]
ROWS["portal_attachment_add"] = lambda w, scope, write: [
    (
        "post",
        url("portal_attachment_add", w, module=m, pk=record_of(w, m, t)),
        200 if write and reaches(scope, m, t) else 404,
    )
    for m in MODULES
    for t in TARGETS
]
ROWS["portal_attachment_download"] = lambda w, scope, write: [
    (
        "get",
        url(
            "portal_attachment_download",
            w,
            module=m,
            pk=record_of(w, m, t),
            att_pk=attachment_of(w, m, t),
        ),
        200 if reaches(scope, m, t) else 404,
    )
    for m in MODULES
    for t in TARGETS
]
# Routes anyone may open without being a portal user of the portal.
PUBLIC = {
    "portal_login",
    "portal_logout",
    "portal_theme",
    "portal_language",
    "portal_email_confirm",
}
PUBLIC_PAGES = {"portal_password_reset", "portal_password_reset_key"}


def route_names() -> set[str]:
    return {pattern.name for pattern in site_urls.urlpatterns}


def check(world, client_factory, expected_for) -> list[str]:
    wrong = []
    for name, rows in ROWS.items():
        for method, address, expected in rows(world, "own", False):
            client = client_factory()
            response = getattr(client, method)(address)
            status = expected_for(name, expected)
            if response.status_code != status:
                wrong.append(f"{method.upper()} {address}: {response.status_code} != {status}")
    return wrong


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_por7_every_portal_route_has_a_row():
    assert route_names() == set(ROWS)


GROUPS = [(scope, write) for scope in ("own", "related", "account") for write in (False, True)]


@pytest.mark.parametrize(("scope", "write"), GROUPS)
def test_por7_por2_matrix_portal_user_of_a_group(db, scope, write):
    actions = ("view", "create", "edit", "notes", "attachments") if write else ("view",)
    world = make_world(group_modules(scope, actions=actions))
    wrong = []
    for rows in ROWS.values():
        for method, address, expected in rows(world, scope, write):
            response = getattr(world.client(), method)(address)
            if response.status_code != expected:
                wrong.append(f"{method.upper()} {address}: {response.status_code} != {expected}")
    assert not wrong, "\n".join(wrong)


def test_por7_matrix_anonymous_visitor_goes_to_sign_in(db):
    world = make_world()

    def expected(name, _status):
        if name in ("portal_login", "portal_theme", *PUBLIC_PAGES):
            return 200
        if name == "portal_email_confirm":
            return 404  # POR-5: the link's page needs no sign-in; an unknown one is a 404
        return 302  # sign-out just returns to sign-in; every other page asks to sign in

    assert not check(world, Client, expected)


def test_por7_matrix_someone_who_is_no_user_of_the_portal_gets_404(db):
    world = make_world()
    with scopes_disabled():
        crm_member = CrmUserFactory(org=world.portal.org)

    def client():
        c = Client()
        c.force_login(crm_member.user)
        return c

    def expected(name, _status):
        public = {
            "portal_login": 403,
            "portal_logout": 302,
            "portal_language": 302,
            "portal_login_mfa": 302,
        }
        open_pages = {name: 200 for name in ("portal_theme", *PUBLIC_PAGES)}
        return {**public, **open_pages}.get(name, 404)

    assert not check(world, client, expected)


def test_por1_matrix_a_disabled_portal_answers_403_everywhere(db):
    world = make_world(group_modules("related", actions=("view", "create", "edit")))
    with scopes_disabled():
        world.portal.is_enabled = False
        world.portal.save()

    def expected(name, _status):
        return 200 if name == "portal_theme" else 403

    assert not check(world, world.client, expected)
    assert not check(world, Client, expected)
