"""Customer portals (POR-1 … POR-8): a portal of an org, its user groups, its portal users.

A portal user is a membership of a contact in one portal, reached through the generic
invitation core (invitations, kind "portal_user"): the PortalUser holds a OneToOne to its
Invitation, as DESIGN: Invitations says a membership of a higher app does.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from invitations.models import Invitation
from records.models import Contact
from users.models import CrmUser, Organization

# What a user group may do in a module (POR-2), in the order the pages show them.
MODULE_ACTIONS = [
    ("view", _("View")),
    ("create", _("Create")),
    ("edit", _("Edit")),
    ("notes", _("Add notes")),
    ("attachments", _("Add attachments")),
]
# Which records of a module a portal user reaches (POR-2).
RECORD_SCOPES = [
    ("own", _("Their own contact")),
    ("related", _("Records related to their contact")),
    ("account", _("Records of their contact's account")),
]


def logo_path(portal: "Portal", filename: str) -> str:
    """Logos are stored under a name of ours, never the uploaded one (no `../`)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"portals/{portal.org_id}/logo-{portal.slug}.{extension[:5]}"


class Portal(models.Model):
    """POR-1. Its `slug` is global: a portal lives at /portal/<slug>/, outside /o/<org>/."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="portals")
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("web address"), max_length=60, unique=True)
    languages = models.JSONField(_("languages offered"), default=list)
    default_language = models.CharField(
        _("default language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    logo = models.FileField(_("logo"), upload_to=logo_path, blank=True)
    primary_colour = models.CharField(_("main colour"), max_length=7, default="#2563eb")
    background_colour = models.CharField(_("background colour"), max_length=7, default="#f5f7fb")
    is_enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def offers(self, language: str) -> bool:
        return language in self.languages

    def language_for(self, language: str) -> str:
        """A contact's language if the portal offers it, else the portal's default (POR-6)."""
        return language if self.offers(language) else self.default_language


class UserGroup(models.Model):
    """POR-2: what a group's portal users see and do, per module.

    `modules` is data, keyed by module ("contacts", "accounts", any later one):
        {"contacts": {"actions": ["view", "edit"], "records": "own",
                      "fields_shown": ["first_name", …], "fields_editable": ["phone", …]}}
    A module missing from it is not shared. Enforced by the portal's selectors and services."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("name"), max_length=80)
    modules = models.JSONField(_("modules"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["portal", "name"], name="usergroup_name_once"),
        ]

    def __str__(self):
        return self.name

    def module(self, module: str) -> dict:
        return self.modules.get(module) or {}

    def may(self, module: str, action: str) -> bool:
        return action in self.module(module).get("actions", [])


class PortalUser(models.Model):
    """A contact's membership of a portal (POR-3, POR-4): at most one per (portal, contact),
    and one address once per portal, whatever the race (database constraints)."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invitation not accepted")
        LOGIN_PENDING = "login_pending", _("Login pending")
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="users")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="portal_users")
    group = models.ForeignKey(UserGroup, on_delete=models.PROTECT, related_name="users")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="portal_memberships",
    )
    email = models.EmailField(_("email address"))
    # POR-5: the address waiting for confirmation; the person signs in with `email` until then.
    pending_email = models.EmailField(_("new email address"), blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVITED)
    invitation = models.OneToOneField(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="portal_user"
    )
    invited_by = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Auto-invite (AUT-5, AUT-11, AUT-12): when the rule made this user; whether its invitation
    # still waits for the org's sending rate; when its one reminder left.
    auto_invited_at = models.DateTimeField(null=True, blank=True)
    auto_invite_waiting = models.BooleanField(default=False)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "contact"], name="portaluser_once_per_contact"
            ),
            models.UniqueConstraint(
                "portal", Lower("email"), name="portaluser_email_once_per_portal"
            ),
            models.UniqueConstraint(
                fields=["portal", "user"],
                condition=Q(user__isnull=False),
                name="portaluser_account_once_per_portal",
            ),
        ]
        indexes = [
            models.Index(fields=["portal", "status"], name="portaluser_portal_status"),
            # The Users tab's order (Meta.ordering): its page is read from here, not sorted
            # from every portal user (issue 21).
            models.Index(fields=["portal", "created_at", "id"], name="portaluser_portal_newest"),
            models.Index(
                fields=["org", "auto_invited_at"],
                condition=Q(auto_invite_waiting=True),
                name="portaluser_autoinvite_waiting",
            ),
        ]

    def __str__(self):
        return self.email


class EmailTemplate(models.Model):
    """An admin's version of one of the portal's emails, per language and optionally per user
    group (POR-6). Its text is data: portals.emails substitutes `{placeholders}` over an
    allow-listed context and sanitises the HTML body on save; no template engine reads it."""

    class Kind(models.TextChoices):
        ACCEPT_INVITATION = "accept_invitation", _("Accept invitation")
        CONFIRM_EMAIL = "confirm_email", _("Confirm email address")

    class AcceptAs(models.TextChoices):
        BUTTON = "button", _("A button")
        LINK = "link", _("A link")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="email_templates")
    kind = models.CharField(_("email"), max_length=30, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=10)
    group = models.ForeignKey(
        UserGroup,
        verbose_name=_("user group"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="email_templates",
    )
    from_name = models.CharField(_("from name"), max_length=100, blank=True)
    from_email = models.EmailField(_("from address"), blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body_html = models.TextField(_("body"))
    style = models.JSONField(_("style"), default=dict, blank=True)
    accept_as = models.CharField(
        _("accept control"), max_length=10, choices=AcceptAs.choices, default=AcceptAs.BUTTON
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["kind", "language", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "kind", "language", "group"],
                name="emailtemplate_once_per_group",
            ),
            models.UniqueConstraint(
                fields=["portal", "kind", "language"],
                condition=Q(group__isnull=True),
                name="emailtemplate_once_per_language",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.language})"


class EmailChange(models.Model):
    """POR-5: a portal user's new address waiting for confirmation. The link's random token is
    never stored, only its hash; the link works once, until `expires_at` (7 days, like an
    invitation). Writers lock the portal user's row first, then this one."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    portal_user = models.ForeignKey(
        PortalUser, on_delete=models.CASCADE, related_name="email_changes"
    )
    new_email = models.EmailField(_("new email address"))
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.new_email


def empty_condition_set() -> dict:
    """A condition set as data (AUT-4; records.conditions): no condition, always true."""
    return {"conditions": [], "pattern": ""}


class AutoInviteRule(models.Model):
    """A portal's automatic invitations (AUT-1 … AUT-3, AUT-6, AUT-11): when a contact is
    created or updated and meets the common conditions, then the conditions of one of the
    languages (in `languages`' order, first match wins), the contact becomes a portal user of
    `group` in that language and is invited. Evaluated by the workers (portals.autoinvite), an
    outbox consumer; never on the save path.

    Condition sets are records.conditions data: {"conditions": [{"field", "op", "value"}, …],
    "pattern": "(1 and 2) or 3"}; `languages` is [{"language": "fr", "conditions": {…}}, …]
    (one entry in single-language mode). `invalid_reason` is set, and the rule disabled, when
    a field it names was deleted; the portal page shows it."""

    class Trigger(models.TextChoices):
        CREATE = "create", _("When a contact is created")
        UPDATE = "update", _("When a contact is updated")
        BOTH = "both", _("When a contact is created or updated")

    class LanguageMode(models.TextChoices):
        SINGLE = "single", _("One language")
        MULTIPLE = "multiple", _("Several languages, each with its own conditions")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    portal = models.OneToOneField(Portal, on_delete=models.CASCADE, related_name="auto_invite")
    is_enabled = models.BooleanField(_("enabled"), default=False)
    # AUT-6: events saved before the rule was (re-)enabled are never replayed.
    enabled_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(
        _("invite"), max_length=10, choices=Trigger.choices, default=Trigger.BOTH
    )
    group = models.ForeignKey(
        UserGroup, verbose_name=_("user group"), on_delete=models.PROTECT, related_name="+"
    )
    language_mode = models.CharField(
        _("languages"), max_length=10, choices=LanguageMode.choices, default=LanguageMode.SINGLE
    )
    common_conditions = models.JSONField(_("common conditions"), default=empty_condition_set)
    languages = models.JSONField(_("language conditions"), default=list)
    invalid_reason = models.TextField(_("why the rule was turned off"), blank=True, default="")
    reminder_enabled = models.BooleanField(_("send one reminder"), default=False)
    reminder_after_days = models.PositiveSmallIntegerField(_("remind after (days)"), default=5)
    updated_by = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["portal__name", "pk"]

    def __str__(self):
        return str(self.portal)

    def fires_on(self, kind: str) -> bool:
        """Whether a record event of `kind` ("create" / "update") is this rule's trigger."""
        return self.trigger == self.Trigger.BOTH or self.trigger == kind


class FailedInvitation(models.Model):
    """AUT-7: a contact auto-invite meant to invite and could not, with the reason (a fixed
    code with a sentence), the provider's words where a provider answered, and the evaluation
    trace (AUT-10). The contact's name and address are copied: the log outlives the record."""

    class Reason(models.TextChoices):
        NO_EMAIL = "no_email", _("The contact has no email address.")
        INVALID_EMAIL = "invalid_email", _("The contact's email address is not valid.")
        ADDRESS_TAKEN = (
            "address_taken",
            _("The address is already used by another user of this portal."),
        )
        NO_TEMPLATE = "no_template", _("There is no invitation email for the language.")
        ORG_NOT_VERIFIED = (
            "org_not_verified",
            _("The organisation's email address is not verified yet."),
        )
        PORTAL_DISABLED = "portal_disabled", _("The portal is turned off.")
        PROVIDER_REJECTED = "provider_rejected", _("The mail provider rejected the email.")
        BOUNCED = "bounced", _("The email bounced.")
        COMPLAINED = "complained", _("The recipient marked the email as spam.")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="failed_invitations")
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    record_name = models.CharField(_("record"), max_length=300)
    email = models.CharField(_("email address"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    detail = models.TextField(_("provider's answer"), blank=True, default="")
    trace = models.JSONField(default=dict, blank=True)
    failed_at = models.DateTimeField(_("failed at"), auto_now_add=True)
    retried_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-failed_at", "-pk"]
        indexes = [
            models.Index(fields=["portal", "-failed_at", "-id"], name="failedinv_portal_time"),
            models.Index(
                fields=["portal", "reason", "-failed_at", "-id"], name="failedinv_portal_reason"
            ),
        ]

    def __str__(self):
        return f"{self.record_name} ({self.reason})"


class AutoInviteDay(models.Model):
    """A portal's auto-invite counts for one day in the org's time zone (AUT-1 visibility,
    AUT-11): the auto-invite page shows the last seven."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="auto_invite_days")
    day = models.DateField()
    evaluated = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    reminded = models.PositiveIntegerField(default=0)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["portal", "day"], name="autoinviteday_once_per_day")
        ]

    def __str__(self):
        return f"{self.portal} {self.day}"
