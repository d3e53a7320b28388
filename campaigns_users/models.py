"""The Campaigns team of an org (CAM-1 … CAM-9): its roles and its members. A member is a
membership of the Campaigns product, invited through the one invitation core (the
"campaigns_member" kind, campaigns_users.invitations)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from invitations.models import Invitation
from users.models import CrmUser, Organization

from . import permissions
from .statuses import IN_TEAM, Status

# CAM-4: sends to one address, and declines from it, before it is blocked.
MAX_SENDS = 2
MAX_DECLINES = 2


class CampaignRole(models.Model):
    """What a Campaigns member may do (CAM-1): the built-in Standard Admin (everything) and
    Standard User, and the org's custom roles with chosen permissions."""

    STANDARD_ADMIN = "standard_admin"
    STANDARD_USER = "standard_user"
    BUILTIN_CHOICES = [(STANDARD_ADMIN, _("Standard Admin")), (STANDARD_USER, _("Standard User"))]

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=80)
    builtin = models.CharField(max_length=20, choices=BUILTIN_CHOICES, blank=True)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-builtin", "name"]
        constraints = [
            models.UniqueConstraint("org", Lower("name"), name="campaignrole_unique_name"),
            models.UniqueConstraint(
                fields=["org", "builtin"], condition=~Q(builtin=""), name="campaignrole_builtin"
            ),
        ]

    def __str__(self):
        return str(dict(self.BUILTIN_CHOICES)[self.builtin]) if self.builtin else self.name

    def allows(self, permission: str) -> bool:
        return self.builtin == self.STANDARD_ADMIN or permission in self.permissions

    @property
    def is_admin(self) -> bool:
        """An admin runs the team: invites, changes roles, deactivates (CAM-1, CAM-2)."""
        return self.allows(permissions.MANAGE_USERS)


class CampaignMember(models.Model):
    """One address's place in an org's Campaigns team (CAM-2, CAM-3), whatever its status.
    The account is bound when the invitation is accepted; a person is in at most one team at a
    time (CAM-5, held by a constraint)."""

    Status = Status

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("email address"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaign_memberships",
    )
    role = models.ForeignKey(
        CampaignRole, verbose_name=_("role"), on_delete=models.PROTECT, related_name="members"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.INVITED
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    invitation = models.OneToOneField(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaign_member",
    )
    # CAM-4: invitations sent to this address and declined from it since it last joined, as
    # shown on the members page: a copy of the address's CampaignAddress, which the caps read.
    send_count = models.PositiveIntegerField(default=0)
    decline_count = models.PositiveIntegerField(default=0)
    invited_by = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # CAM-8, CAM-10: the member deleted their Campaigns account; its data waits for purge_at
    # (six months later), with notices 30 and 7 days before, unless they join again.
    account_deleted_at = models.DateTimeField(null=True, blank=True)
    purge_at = models.DateTimeField(null=True, blank=True)
    notified_30_days_at = models.DateTimeField(null=True, blank=True)
    notified_7_days_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["email", "pk"]
        constraints = [
            models.UniqueConstraint("org", Lower("email"), name="campaignmember_email_once"),
            models.UniqueConstraint(
                fields=["org", "user"],
                condition=Q(user__isnull=False),
                name="campaignmember_account_once",
            ),
            # CAM-5: one team at a time.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=sorted(IN_TEAM)),
                name="campaignmember_one_team",
            ),
        ]
        indexes = [models.Index(fields=["org", "status"], name="campaignmember_status")]

    def __str__(self):
        return self.email

    @property
    def is_admin(self) -> bool:
        return self.status in IN_TEAM and self.role.is_admin

    def can(self, permission: str) -> bool:
        return self.status in IN_TEAM and self.role.allows(permission)


class CampaignAddress(models.Model):
    """CAM-4: the invitation history of one address within an org — sends to it and declines
    from it since it last joined. The caps belong to the address, whatever member row carries
    it: the history survives re-targeting (CAM-9), removal and purge (CAM-8); only joining or
    the operator (campaigns_unblock_address) starts it again."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("email address"))  # lower-cased
    sends = models.PositiveIntegerField(default=0)
    declines = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "email"], name="campaignaddress_once"),
        ]

    def __str__(self):
        return self.email


class SenderAddress(models.Model):
    """An address the team sends campaigns from (CAM-7): added by one member, usable once its
    mailbox followed the verification link. Only its adder deletes it; it goes with them."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        CampaignMember, on_delete=models.CASCADE, related_name="sender_addresses"
    )
    email = models.EmailField(_("email address"))
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["email", "pk"]
        constraints = [
            models.UniqueConstraint("org", Lower("email"), name="senderaddress_once_per_org"),
        ]

    def __str__(self):
        return self.email

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None
