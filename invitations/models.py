from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from users.models import CrmUser, Organization

INVITATION_VALIDITY = timedelta(days=7)


class Invitation(models.Model):
    """One invitation per membership, whatever its kind. Each send draws a new random token
    and stores only its hash, so every older link stops working (USR-5).

    `kind` names the adapter in INVITATION_KINDS (invitations.kinds). A membership of a higher
    app holds a OneToOne to its Invitation; CRM users live in users, below this app, so their
    relation is the nullable `crm_user` here."""

    class Status(models.TextChoices):
        HELD = "held", _("Held: organisation not verified")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")

    class Delivery(models.TextChoices):
        """What the mail provider reported about the current send (AUT-9), through its
        tracking webhook (invitations.webhooks); "" until it reports."""

        UNKNOWN = "", _("No report yet")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        REJECTED = "rejected", _("Rejected by the mail provider")
        COMPLAINED = "complained", _("Marked as spam by the recipient")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    kind = models.CharField(max_length=20)
    crm_user = models.OneToOneField(
        CrmUser, on_delete=models.CASCADE, null=True, blank=True, related_name="invitation"
    )
    email = models.EmailField(_("email address"))
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    status = models.CharField(max_length=10, choices=Status.choices)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    sent_count = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invited_by = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # AUT-9: the provider's report on the current send; a new send clears it.
    delivery = models.CharField(
        _("delivery"), max_length=12, choices=Delivery.choices, blank=True, default=""
    )
    delivery_detail = models.TextField(_("provider's answer"), blank=True, default="")
    delivery_reported_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="crm_user") | Q(crm_user__isnull=False),
                name="invitation_crm_user_has_membership",
            ),
        ]

    def __str__(self):
        return f"{self.kind} → {self.email}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_open(self) -> bool:
        """Its current link can be accepted."""
        return self.status == self.Status.SENT and not self.is_expired


class DeliveryAttempt(models.Model):
    """Every attempt to hand an invitation email to the mail provider (X-4)."""

    class Outcome(models.TextChoices):
        SENDING = "sending", _("Being handed over")
        SENT = "sent", _("Sent")
        RETRYING = "retrying", _("Temporary error, will retry")
        FAILED = "failed", _("Failed")
        # A worker died while handing the mail over: it may have gone out, and the mail is
        # delivered again — the one way a recipient can get a second copy (issue 16).
        INTERRUPTED = "interrupted", _("Interrupted: may have been sent; sent again")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="attempts")
    send_number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    error = models.TextField(blank=True)
    # The provider's id of the message this attempt handed over (anymail backends give it):
    # how a tracking webhook that carries no metadata finds its invitation (AUT-9).
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="delivery_provider_message",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "send_number"],
                condition=Q(outcome="sent"),
                name="delivery_sent_once_per_send",
            ),
        ]

    def __str__(self):
        return f"{self.invitation_id}#{self.send_number}: {self.outcome}"
