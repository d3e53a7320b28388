from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager

from crm_portal.names import person_name
from imports.models import ImportRow, ImportRun
from users.models import CrmUser, Organization

from .fields import FIELD_TYPES, FieldSpec


class CustomField(models.Model):
    """An admin-defined field of a module (REC-1). Values live in the record's `custom`
    JSON under `key`; records.fields validates them."""

    MODULES = [("contacts", _("Contacts")), ("accounts", _("Accounts"))]

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="custom_fields")
    module = models.CharField(_("module"), max_length=20, choices=MODULES)
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=80)
    field_type = models.CharField(_("type"), max_length=20, choices=FIELD_TYPES)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(default=0)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["module", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["org", "module", "key"], name="customfield_key_once"),
        ]

    def __str__(self):
        return self.label

    def spec(self) -> FieldSpec:
        return FieldSpec(
            key=self.key,
            label=self.label,
            type=self.field_type,
            choices=tuple(self.choices),
            required=self.required,
            custom=True,
        )


class Record(models.Model):
    """What contacts and accounts share: owner, custom values, times, and the event diff."""

    owner = models.ForeignKey(
        CrmUser,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    custom = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(org="org")

    MODULE = ""
    TRACKED_FIELDS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def tracked_values(self) -> dict:
        """Every value an event compares: standard fields (relations by id) and custom."""
        values = {name: getattr(self, name) for name in self.TRACKED_FIELDS}
        values.update({key: value for key, value in (self.custom or {}).items()})
        return values


class Account(Record):
    """A company or organisation the contacts belong to (REC-1)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(_("account name"), max_length=200)
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)

    MODULE = "accounts"
    TRACKED_FIELDS = (
        "name",
        "website",
        "phone",
        "industry",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "owner_id",
    )

    class Meta:
        verbose_name = pgettext_lazy("crm record", "account")
        verbose_name_plural = pgettext_lazy("crm record", "accounts")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["org", "name"])]

    def __str__(self):
        return self.name


class Contact(Record):
    """A CRM contact (REC-1): the person a portal invitation goes to."""

    class Subscription(models.TextChoices):
        NONE = "none", _("None")
        TRIAL = "trial", _("Trial")
        FREE = "free", _("Free")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80)
    email = models.EmailField(_("email"), blank=True)
    secondary_email = models.EmailField(_("secondary email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    account = models.ForeignKey(
        Account,
        verbose_name=pgettext_lazy("crm record", "account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
    )
    subscription = models.CharField(
        _("subscription"), max_length=20, choices=Subscription.choices, default=Subscription.NONE
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO code, e.g. FR")
    )
    description = models.TextField(_("description"), blank=True)

    MODULE = "contacts"
    TRACKED_FIELDS = (
        "first_name",
        "last_name",
        "email",
        "secondary_email",
        "phone",
        "mobile",
        "title",
        "department",
        "account_id",
        "subscription",
        "language",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "description",
        "owner_id",
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "pk"]
        indexes = [
            # With id last (and the owner, for members' visibility), a page's ids come from
            # the index alone, however deep the page (records/views/records.py,
            # KeysFirstPaginator).
            models.Index(
                fields=["org", "last_name", "first_name", "id", "owner"], name="contact_by_name"
            ),
            models.Index(fields=["org", "email"]),
            models.Index(fields=["org", "owner"]),
            models.Index(fields=["org", "created_at", "id"]),
            # the list's filters (REC-2), fast at 100,000 contacts per org
            models.Index(fields=["org", "subscription", "last_name"]),
            models.Index(fields=["org", "country", "last_name"]),
            # auto-invite conditions compare text case-insensitively (records.conditions,
            # AUT-4): "country is one of …" reads this index ("Match now" at 1,000,000)
            models.Index(F("org"), Lower("country"), name="contact_country_ci"),
            models.Index(fields=["org", "account"]),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        """In the viewer's order: family name first in Japanese (X-1)."""
        return person_name(self.first_name, self.last_name)


class RecordEvent(models.Model):
    """The outbox (REC-3, AUT-8): written in the same transaction as the change it describes."""

    class Kind(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")

    class Source(models.TextChoices):
        UI = "ui", _("Web")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        PORTAL = "portal", _("Portal")
        SYSTEM = "system", _("System")

    # No index of its own on org: the (org, module, record_id) index serves org look-ups too.
    # Every index is paid for on the save path (REC-3 speed target).
    org = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="record_events", db_index=False
    )
    module = models.CharField(max_length=30, default="contacts")
    record_id = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UI)
    changes = models.JSONField(help_text="{field: [old, new]}")
    actor = models.ForeignKey(CrmUser, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the outbox relay when it hands the event to the broker (records.relay).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The sweeper's re-sends of an event it found stuck (AUT-8): each stamps enqueued_at again,
    # so the next sweep leaves it alone for another stale period. Database defaults: the save
    # path's INSERT names only the columns it sets.
    resent_count = models.PositiveIntegerField(default=0, db_default=0)
    # A poison event: it failed OUTBOX_MAX_ATTEMPTS times and is retried no more; operators see
    # it (manage.py outbox_failed, /healthz) with its last error.
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="", db_default="")

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["org", "module", "record_id"]),
            models.Index(
                fields=["created_at"],
                condition=Q(processed_at__isnull=True),
                name="recordevent_pending",
            ),
        ]

    def __str__(self):
        return f"{self.module}#{self.record_id} {self.kind}"


class FieldLayout(models.Model):
    """The admin's order of a module's fields, standard and custom, on the record forms
    (REC-1). Keys missing from `order` (a field added since) come last."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="field_layouts")
    module = models.CharField(_("module"), max_length=20, choices=CustomField.MODULES)
    order = models.JSONField(default=list, blank=True, help_text="[field key, …]")

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "module"], name="fieldlayout_once"),
        ]

    def __str__(self):
        return f"{self.module} layout"


class ApiToken(models.Model):
    """A per-org credential for the JSON API (REC-4). The secret is shown once when the token
    is created; only its SHA-256 is stored, and the first characters so admins can tell
    tokens apart. A token acts for the organisation as a whole (events have no actor)."""

    PREFIX_LENGTH = 8

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    token_prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        CrmUser,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.token_prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ContactImport(ImportRun):
    """A run of the contact import wizard. Each row goes through the record services, so
    every contact it adds or changes gets its event (REC-3)."""

    class Mode(models.TextChoices):
        ADD = "add", _("Add as new contacts")
        UPDATE = "update", _("Update existing contacts only")
        BOTH = "both", _("Add new contacts and update existing ones")

    class MatchKey(models.TextChoices):
        EMAIL = "email", _("Email")
        ID = "id", _("Contact ID")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contact_imports")
    created_by = models.ForeignKey(CrmUser, on_delete=models.SET_NULL, null=True, related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ADD)
    match_key = models.CharField(max_length=10, choices=MatchKey.choices, default=MatchKey.EMAIL)

    class Meta(ImportRun.Meta):
        pass


class ContactImportRow(ImportRow):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="rows")
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(ImportRow.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["contact_import", "row_number"], name="contact_import_row_once"
            ),
        ]

    def __str__(self):
        return f"{self.contact_import_id}:{self.row_number}"


def attachment_path(instance, filename: str) -> str:
    """POR-7: the stored name is ours, never the uploaded one (no `../`, no clash): the
    caller passes a random name; only its last component is kept."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1] or "file"
    return f"attachments/{instance.org_id}/{name}"


class Note(models.Model):
    """A note on a contact or account (POR-7), written in the CRM or from a portal. Records
    are below portals: a portal author is kept by id and display name, with no foreign key."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    module = models.CharField(max_length=30)
    record_id = models.BigIntegerField()
    body = models.TextField(_("note"), max_length=10_000)
    author_crm_user = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_portal_user_id = models.BigIntegerField(null=True, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["org", "module", "record_id", "-created_at"])]

    def __str__(self):
        return self.body[:50]

    @property
    def from_portal(self) -> bool:
        return self.author_portal_user_id is not None


class Attachment(models.Model):
    """A file on a contact or account (POR-7): its type detected from its content, its
    uploaded name kept only for display (sanitised)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    module = models.CharField(max_length=30)
    record_id = models.BigIntegerField()
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    uploaded_by_crm_user = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_by_portal_user_id = models.BigIntegerField(null=True, blank=True)
    uploaded_by_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["org", "module", "record_id", "-created_at"])]

    def __str__(self):
        return self.original_name

    @property
    def from_portal(self) -> bool:
        return self.uploaded_by_portal_user_id is not None
