import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from crm_portal.names import person_name
from imports.models import ImportRow, ImportRun


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A global account (ORG-3): one per email address, shared by every membership."""

    email = models.EmailField(_("email address"), unique=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped to end every session of the account at once (USR-7): each signed-in session
    # carries a hash of it, checked on every request.
    session_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self):
        return self.email

    def _get_session_auth_hash(self, secret=None):
        """Django's session hash (of the password), also of the session generation once it
        was bumped: sessions made before a bump stop verifying, wherever they are stored and
        whether or not allauth tracked them. (Django's get_session_auth_hash and its secret
        key fallbacks both come through here.)"""
        value = self.password
        if self.session_generation:
            value = f"{value}:{self.session_generation}"
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            value,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Organization(models.Model):
    """A tenant. Unverified until its super admin confirms their email address (ORG-2)."""

    class Plan(models.TextChoices):
        FREE = "free", _("Free")
        PAID = "paid", _("Paid")

    FREE_PLAN_LICENCES = 3

    name = models.CharField(_("organisation name"), max_length=120)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    plan = models.CharField(_("plan"), max_length=10, choices=Plan.choices, default=Plan.FREE)
    purchased_licences = models.PositiveIntegerField(_("purchased licences"), default=0)
    territories_enabled = models.BooleanField(_("use territories"), default=False)
    # ORG-7: the org's defaults for its members' time zone and language (USR-6), and X-3's
    # idle session timeout (None: off).
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    language = models.CharField(
        _("default language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    idle_timeout_minutes = models.PositiveIntegerField(
        _("idle session timeout (minutes)"), null=True, blank=True
    )
    # Renewed by every change of the org's custom fields (records.modules.field_registry_changed):
    # each process keeps the org's field registry and trusts it while this stamp is unchanged,
    # so a save reads no field definitions. A new random value, not a counter: a change that
    # rolls back must never leave a stamp that a later change could reuse.
    fields_version = models.UUIDField(default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self):
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def licence_limit(self) -> int:
        """ORG-5: the free plan allows 3 users, a paid plan its purchased licences."""
        if self.plan == self.Plan.FREE:
            return self.FREE_PLAN_LICENCES
        return self.purchased_licences


class Profile(models.Model):
    """What a user may do (USR-1). Built-in Administrator can do everything."""

    ADMINISTRATOR = "administrator"
    STANDARD = "standard"
    BUILTIN_CHOICES = [(ADMINISTRATOR, _("Administrator")), (STANDARD, _("Standard"))]

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="profiles")
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=255, blank=True)
    builtin = models.CharField(max_length=20, choices=BUILTIN_CHOICES, blank=True)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="profile_unique_name"),
            models.UniqueConstraint(
                fields=["org", "builtin"], condition=~Q(builtin=""), name="profile_one_builtin"
            ),
        ]

    def __str__(self):
        # Built-in profiles are stored under their English names and shown in the viewer's
        # language.
        return str(dict(self.BUILTIN_CHOICES)[self.builtin]) if self.builtin else self.name

    @property
    def is_administrator(self) -> bool:
        return self.builtin == self.ADMINISTRATOR

    def allows(self, permission: str) -> bool:
        return self.is_administrator or permission in self.permissions


class Role(models.Model):
    """Which records a user sees (USR-2): a tree under the org's top role."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(_("name"), max_length=80)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="children",
    )
    share_with_peers = models.BooleanField(
        _("share data with peers"),
        default=False,
        help_text=_("Users in this role also see records owned by others in the same role."),
    )

    objects = ScopedManager(org="org")

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="role_unique_name"),
            models.UniqueConstraint(
                fields=["org"], condition=Q(parent__isnull=True), name="role_one_top"
            ),
        ]

    def __str__(self):
        return self.name


class Territory(models.Model):
    """Optional per org (USR-8): a tree of territories users are assigned to."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="territories")
    name = models.CharField(_("name"), max_length=80)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent territory"),
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="children",
    )

    objects = ScopedManager(org="org")

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="territory_unique_name"),
        ]

    def __str__(self):
        return self.name


class CrmUser(models.Model):
    """A person's membership of an organisation as a CRM user (ORG-3, ORG-4)."""

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("Unconfirmed")
        ACTIVE = "active", _("Active")
        DEACTIVATED = "deactivated", _("Deactivated")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="crm_users")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="crm_memberships",
        null=True,
        blank=True,
    )
    email = models.EmailField(_("email address"))
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.UNCONFIRMED
    )
    is_super_admin = models.BooleanField(_("super admin"), default=False)
    profile = models.ForeignKey(
        Profile,
        verbose_name=_("profile"),
        on_delete=models.RESTRICT,
        null=True,
        related_name="members",
    )
    role = models.ForeignKey(
        Role, verbose_name=_("role"), on_delete=models.RESTRICT, null=True, related_name="members"
    )
    territories = models.ManyToManyField(
        Territory, verbose_name=_("territories"), blank=True, related_name="members"
    )
    # User details (USR-6)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    fax = models.CharField(_("fax"), max_length=40, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    locale = models.CharField(_("country/locale"), max_length=10, default="en_US")
    # "" is "Default for my language": YYYY/MM/DD in Japanese, else the locale's default.
    date_format = models.CharField(_("date format"), max_length=20, blank=True, default="")
    time_format = models.CharField(_("time format"), max_length=2, default="12")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        verbose_name = _("CRM user")
        verbose_name_plural = _("CRM users")
        indexes = [
            # The users list's order (users.selectors): its first page without sorting the
            # org's members; and its counts by status (issue 16 at 10,000 users).
            models.Index(
                fields=["org", "last_name", "first_name", "id"], name="crmuser_list_order"
            ),
            models.Index(fields=["org", "status"], name="crmuser_org_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["org", "email"], name="crmuser_unique_email_per_org"),
            models.UniqueConstraint(
                fields=["org"], condition=Q(is_super_admin=True), name="crmuser_one_super_admin"
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="active"),
                name="crmuser_active_in_one_org",
            ),
        ]

    def __str__(self):
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        """In the viewer's order: family name first in Japanese (X-1)."""
        return person_name(self.first_name, self.last_name)

    @property
    def is_admin(self) -> bool:
        """Administrator profile (USR-1); the super admin always is one."""
        return self.is_super_admin or bool(self.profile and self.profile.is_administrator)

    @property
    def can_manage_users(self) -> bool:
        return self.can("manage_users")

    def can(self, permission: str) -> bool:
        return self.status == self.Status.ACTIVE and (
            self.is_admin or bool(self.profile and self.profile.allows(permission))
        )


class AuditLogEntry(models.Model):
    """Who did what to whom, when and from where (USR-9)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_log")
    actor = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=50, db_index=True)
    target = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self):
        return f"{self.actor_label} {self.action} {self.target_label}"


class UserImport(ImportRun):
    """A run of the user import wizard."""

    class Mode(models.TextChoices):
        ADD = "add", _("Add as new users")
        UPDATE = "update", _("Update existing users only")
        BOTH = "both", _("Add new users and update existing ones")

    class MatchKey(models.TextChoices):
        ID = "id", _("User ID")
        EMAIL = "email", _("Email address")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="user_imports")
    created_by = models.ForeignKey(CrmUser, on_delete=models.SET_NULL, null=True, related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ADD)
    match_key = models.CharField(max_length=10, choices=MatchKey.choices, default=MatchKey.EMAIL)

    class Meta(ImportRun.Meta):
        pass


class UserImportRow(ImportRow):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user_import = models.ForeignKey(UserImport, on_delete=models.CASCADE, related_name="rows")
    crm_user = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(ImportRow.Meta):
        constraints = [
            models.UniqueConstraint(fields=["user_import", "row_number"], name="import_row_once"),
        ]

    def __str__(self):
        return f"{self.user_import_id}:{self.row_number}"
