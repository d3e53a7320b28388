from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from users.models import CrmUser, Organization


class Contact(models.Model):
    """A CRM contact. The full module with custom fields comes with REC-1."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80)
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO code, e.g. FR")
    )
    owner = models.ForeignKey(
        CrmUser,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_contacts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(org="org")

    # What a record event tracks; owner is tracked by its id.
    TRACKED_FIELDS = ("first_name", "last_name", "email", "language", "country", "owner_id")

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "pk"]
        indexes = [models.Index(fields=["org", "last_name", "first_name"])]

    def __str__(self):
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def tracked_values(self) -> dict:
        return {name: getattr(self, name) for name in self.TRACKED_FIELDS}


class RecordEvent(models.Model):
    """The outbox (REC-3, AUT-8): written in the same transaction as the change it describes."""

    class Kind(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")

    class Source(models.TextChoices):
        UI = "ui", _("Web")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        SYSTEM = "system", _("System")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="record_events")
    module = models.CharField(max_length=30, default="contacts")
    record_id = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UI)
    changes = models.JSONField(help_text="{field: [old, new]}")
    actor = models.ForeignKey(CrmUser, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

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
