"""What the tenant walk needs to know: every URL pattern under /o/<org_slug>/ and, for every
URL keyword other than org_slug, how to make an object of a given org to put there.

A later issue that adds a URL with a new keyword registers a maker here; the walk fails with
a message naming the keyword until it does.
"""

from collections.abc import Callable
from itertools import count

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver

from campaigns_users.models import CampaignMember, CampaignRole, SenderAddress
from campaigns_users.services import campaign_roles_ensure
from mailoptions.models import Folder, Mailbox, Message, MessageAttachment, MessageCopy
from portals.models import Portal, PortalUser
from records.models import Account, Contact, ContactImport, ContactImportRow, CustomField
from records.notes import attachment_add
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, UserFactory
from users.models import Organization, Profile, Role, Territory, UserImport, UserImportRow

TENANT_PREFIX = "o/<slug:org_slug>/"

# URL keyword -> function(org) returning the value (usually a pk) of an object of that org.
_serial = count(1)
OBJECT_MAKERS: dict[str, Callable[[Organization], object]] = {
    "contact_pk": lambda org: ContactFactory(org=org).pk,
    "account_pk": lambda org: Account.objects.create(org=org, name=f"Walk {next(_serial)}").pk,
    "profile_pk": lambda org: Profile.objects.create(org=org, name=f"Walk {next(_serial)}").pk,
    "role_pk": lambda org: (
        Role.objects.create(
            org=org, name=f"Walk {next(_serial)}", parent=Role.objects.get(org=org, parent=None)
        ).pk
    ),
    "territory_pk": lambda org: Territory.objects.create(org=org, name=f"Walk {next(_serial)}").pk,
    "user_pk": lambda org: CrmUserFactory(org=org).pk,
    "import_pk": lambda org: _user_import(org).pk,
    "contact_import_pk": lambda org: _contact_import(org).pk,
    "fmt": lambda org: "csv",
    "token_pk": lambda org: _api_token(org).pk,
    "module": lambda org: "contacts",
    # Portals (POR-1, POR-2): a group belongs to the portal made just before it in the URL.
    "portal_pk": lambda org: PortalFactory(org=org).pk,
    "group_pk": lambda org: (
        UserGroupFactory(
            portal=Portal.objects.filter(org=org).order_by("pk").last() or PortalFactory(org=org)
        ).pk
    ),
    "field_pk": lambda org: (
        CustomField.objects.create(
            org=org, module="contacts", key=f"walk-{next(_serial)}", label="Walk", field_type="text"
        ).pk
    ),
    # portals (pemails): one of a portal's emails, in the walk portal's default language (POR-6)
    "kind": lambda org: "accept_invitation",
    "language": lambda org: "en",
    # portals (pprofile, pemailchange): a portal user with an account, of the walk's last portal
    "portal_user_pk": lambda org: _portal_user(org).pk,
    # pnotes: a file on the record made just before it in the URL (POR-7)
    "att_pk": lambda org: _attachment(org).pk,
    # campaigns_users (issue 15): an invited Standard User, a custom role no one holds
    "campaign_member_pk": lambda org: _campaign_member(org).pk,
    "sender_pk": lambda org: (
        SenderAddress.objects.create(
            org=org, added_by=_campaign_member(org), email=f"walk{next(_serial)}@example.com"
        ).pk
    ),
    "campaign_role_pk": lambda org: (
        CampaignRole.objects.create(org=org, name=f"Walk {next(_serial)}", permissions=[]).pk
    ),
    # the mail add-on (MAIL-1, MAIL-3): a mailbox of a user of the org, sharing record-level
    "mailbox_pk": lambda org: _mailbox(org).pk,
    # a message in a mailbox shared with everyone, so any member may read it (MAIL-5)
    "message_pk": lambda org: _message(org).pk,
    # an attachment of the message made just before it in the URL (MAIL-5)
    "attachment_pk": lambda org: _message_attachment(org).pk,
}


def _campaign_member(org):
    roles = campaign_roles_ensure(org=org)
    return CampaignMember.objects.create(
        org=org,
        email=f"walk{next(_serial)}@example.com",
        role=roles[CampaignRole.STANDARD_USER],
        status=CampaignMember.Status.INVITED,
    )


def _mailbox(org, sharing=Mailbox.Sharing.RECORD_LEVEL):
    return Mailbox.objects.create(
        org=org,
        owner=CrmUserFactory(org=org),
        host="imap.example.net",
        login=f"walk{next(_serial)}",
        secret_encrypted="",
        sharing=sharing,
    )


def _message(org):
    mailbox = _mailbox(org, sharing=Mailbox.Sharing.SHARE_ALL)
    folder = Folder.objects.create(org=org, mailbox=mailbox, name="INBOX", uidvalidity=1)
    serial = next(_serial)
    message = Message.objects.create(org=org, key=f"{serial:064x}", subject="Walk")
    MessageCopy.objects.create(org=org, mailbox=mailbox, folder=folder, uid=serial, message=message)
    return message


def _message_attachment(org):
    message = Message.objects.filter(org=org).order_by("pk").last() or _message(org)
    attachment = MessageAttachment(
        org=org,
        message=message,
        position=message.attachments.count(),
        original_name="walk.pdf",
        size=13,
        content_type="application/pdf",
    )
    attachment.file.save(f"walk{next(_serial)}.pdf", ContentFile(b"%PDF-1.4 walk"), save=False)
    attachment.save()
    return attachment


def _attachment(org):
    contact = Contact.objects.filter(org=org).order_by("-created_at", "-pk").first()
    account = Account.objects.filter(org=org).order_by("-created_at", "-pk").first()
    record, module = (contact, "contacts") if contact else (account, "accounts")
    if account and (not contact or account.created_at > contact.created_at):
        record, module = account, "accounts"
    return attachment_add(
        org=org,
        module=module,
        record_id=record.pk,
        upload=SimpleUploadedFile("walk.pdf", b"%PDF-1.4 walk"),
    )


def _portal_user(org):
    portal = Portal.objects.filter(org=org).order_by("pk").last() or PortalFactory(org=org)
    contact = ContactFactory(org=org)
    return PortalUserFactory(
        group=UserGroupFactory(portal=portal),
        contact=contact,
        user=UserFactory(email=contact.email),
        status=PortalUser.Status.ACTIVE,
    )


def _user_import(org):
    """A finished import of one row, so every import page has something to show."""
    imp = UserImport.objects.create(
        org=org,
        filename="walk.csv",
        file_format="csv",
        headers=["Email"],
        mapping={"0": "email"},
        total_rows=1,
        processed_rows=1,
        status=UserImport.Status.DONE,
    )
    UserImportRow.objects.create(
        org=org,
        user_import=imp,
        row_number=2,
        values=["walk@example.com"],
        outcome="failed",
        reason="walk",
    )
    return imp


def _contact_import(org):
    """A finished contact import with one failed row."""
    imp = ContactImport.objects.create(
        org=org,
        filename="walk.csv",
        file_format="csv",
        headers=["Last name"],
        mapping={"0": "last_name"},
        total_rows=1,
        processed_rows=1,
        status=ContactImport.Status.DONE,
    )
    ContactImportRow.objects.create(
        org=org, contact_import=imp, row_number=2, values=[""], outcome="failed", reason="walk"
    )
    return imp


def _api_token(org):
    from records.models import ApiToken

    serial = next(_serial)
    return ApiToken.objects.create(
        org=org, name=f"Walk {serial}", token_prefix="crm_walk", token_hash=f"{serial:064x}"
    )


# Keywords that name no object of the org (a file format, say): the same for every org.
PLAIN_KEYWORDS = {"fmt", "module", "kind", "language"}

# Fields a hostile POST fills in, so a view that forgot the tenant check would write something.
HOSTILE_POST = {
    "first_name": "Mallory",
    "last_name": "Mallory",
    "name": "Mallory",
    "email": "mallory@example.net",
    "language": "en",
    "country": "XX",
    "status": "active",
}


def _walk(patterns, prefix=""):
    """(route, URL name) of every URL pattern, the name None where it has none."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name


def _tenant_patterns() -> list[tuple[str, str | None]]:
    return sorted(
        (route, name)
        for route, name in _walk(get_resolver().url_patterns)
        if route.startswith(TENANT_PREFIX)
    )


def tenant_routes() -> list[tuple[str, list[str]]]:
    """(route, [keyword names]) for every URL pattern under the tenant prefix."""
    return [(route, _object_keywords(route)) for route, _name in _tenant_patterns()]


def tenant_url_names() -> dict[str | None, list[tuple[str, list[str]]]]:
    """URL name -> [(route, [keyword names])] for every URL pattern under the tenant prefix;
    a pattern without a name is listed under None, a name used twice has two entries."""
    found: dict[str | None, list[tuple[str, list[str]]]] = {}
    for route, name in _tenant_patterns():
        found.setdefault(name, []).append((route, _object_keywords(route)))
    return found


def _object_keywords(route: str) -> list[str]:
    return [k for k in _keywords(route) if k != "org_slug"]


def _keywords(route: str) -> list[str]:
    names, rest = [], route
    while "<" in rest:
        start, end = rest.index("<"), rest.index(">")
        names.append(rest[start + 1 : end].split(":")[-1])
        rest = rest[end + 1 :]
    return names


def fill(route: str, values: dict) -> str:
    path = route
    for name, value in values.items():
        start = path.find("<")
        while start != -1:
            end = path.index(">", start)
            if path[start + 1 : end].split(":")[-1] == name:
                path = path[:start] + str(value) + path[end + 1 :]
                break
            start = path.find("<", end)
    return "/" + path


def tenant_models() -> list[type[models.Model]]:
    from django.apps import apps

    return [
        m
        for m in apps.get_models()
        if any(f.name == "org" and f.is_relation for f in m._meta.get_fields())
    ]
