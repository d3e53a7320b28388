"""The mail add-on (MAIL-1 … MAIL-6): a CRM user's mailbox, its folders' sync cursors, and the
messages it brought in, linked to the contacts and accounts whose addresses appear in them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from records.models import Account, Contact
from users.models import CrmUser, Organization


class Mailbox(models.Model):
    """A CRM user's mailbox, synced over IMAP (MAIL-5). The secret is stored encrypted
    (mailoptions.secrets) and never shown again."""

    class Security(models.TextChoices):
        TLS = "tls", _("TLS")
        STARTTLS = "starttls", _("STARTTLS")
        NONE = "none", _("None (unencrypted)")

    class Sharing(models.TextChoices):
        DONT_SHARE = "dont_share", _("Don't share")
        RECORD_LEVEL = "record_level", _("Record-level sharing")
        SHARE_ALL = "share_all", _("Share all")

    class SyncResult(models.TextChoices):
        NEVER = "never", _("Not synced yet")
        OK = "ok", _("Synced")
        FAILED = "failed", _("Failed")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="mailboxes")
    owner = models.OneToOneField(
        CrmUser, verbose_name=_("user"), on_delete=models.CASCADE, related_name="mailbox"
    )
    host = models.CharField(_("IMAP server"), max_length=253)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("security"), max_length=10, choices=Security.choices, default=Security.TLS
    )
    login = models.CharField(_("login"), max_length=254)
    secret_encrypted = models.TextField(editable=False)
    sharing = models.CharField(
        _("sharing"), max_length=20, choices=Sharing.choices, default=Sharing.DONT_SHARE
    )
    # MAIL-3: a locked user can change neither sharing nor mailbox.
    locked = models.BooleanField(_("locked"), default=False)
    locked_at = models.DateTimeField(null=True, blank=True)
    # MAIL-4 (a): when the user last saved their mail settings themself.
    settings_saved_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    last_sync_result = models.CharField(
        _("last sync result"), max_length=10, choices=SyncResult.choices, default=SyncResult.NEVER
    )
    # A reason code (mailoptions.sync.FAILURE_REASONS) and the server's own words, if any.
    last_sync_error = models.CharField(max_length=40, blank=True)
    last_sync_detail = models.CharField(max_length=500, blank=True)
    last_sync_new = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self):
        return f"{self.login}@{self.host}"

    @property
    def domain(self) -> str:
        """The mailbox's mail domain (MAIL-2): the login's when it is an address, else the
        owner's."""
        address = self.login if "@" in self.login else self.owner.email
        return address.rsplit("@", 1)[-1].lower()


class Folder(models.Model):
    """One IMAP folder of a mailbox and its sync cursor: UIDVALIDITY, the last UID stored and,
    where the server has CONDSTORE, HIGHESTMODSEQ."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=500)
    uidvalidity = models.BigIntegerField(null=True)
    last_uid = models.BigIntegerField(default=0)
    highestmodseq = models.BigIntegerField(null=True)

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="mailfolder_unique_name")
        ]

    def __str__(self):
        return self.name


class Message(models.Model):
    """A message, once per organisation however many mailboxes hold it: `key` is the hash of
    its Message-ID (of its headers when it has none)."""

    class Note(models.TextChoices):
        NONE = "", ""
        TOO_LARGE = (
            "too_large",
            _("Too large: only the headers were stored; the body and the attachments were not."),
        )

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    message_id = models.CharField(max_length=998, blank=True)
    subject = models.TextField(blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    size = models.PositiveBigIntegerField(default=0)
    headers_only = models.BooleanField(default=False)
    note = models.CharField(max_length=20, choices=Note.choices, blank=True)
    # What the MIME parser found wrong (names of email.errors defects); the rest was kept.
    defects = models.JSONField(default=list, blank=True)
    # Sent from a contact's page in the CRM (MAIL-5): seen as the sender's mailbox is shared.
    sent_by = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    contacts = models.ManyToManyField(Contact, through="MessageContact", related_name="+")
    accounts = models.ManyToManyField(Account, through="MessageAccount", related_name="+")

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "key"], name="message_unique_key")]
        indexes = [models.Index(fields=["org", "-sent_at"])]

    def __str__(self):
        return self.subject or self.message_id


def mail_attachment_path(instance, filename: str) -> str:
    """The stored name is ours (random, given by the sync), under the org's folder; the
    attachment's own name is kept only for display."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1] or "file"
    return f"mail/{instance.org_id}/{name}"


class MessageAttachment(models.Model):
    """An attachment part of a message (MAIL-5), stored once per message however many
    mailboxes hold it: `position` is its place among the message's attachment parts.
    Downloadable only by whoever may read the message."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveIntegerField()
    file = models.FileField(upload_to=mail_attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    class Meta:
        ordering = ["message", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"], name="messageattachment_unique_position"
            )
        ]

    def __str__(self):
        return self.original_name


class MessageCopy(models.Model):
    """Where a message sits: one row per (folder, UID), so a sync stores each UID once."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="copies")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="copies")
    uid = models.BigIntegerField()
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="copies")

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["folder", "uid"], name="messagecopy_unique_uid")
        ]
        indexes = [models.Index(fields=["mailbox", "message"])]

    def __str__(self):
        return f"{self.folder_id}:{self.uid}"


class MessageContact(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "contact"], name="messagecontact_unique")
        ]
        indexes = [models.Index(fields=["contact", "message"])]

    def __str__(self):
        return f"{self.message_id} → {self.contact_id}"


class MessageAccount(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "account"], name="messageaccount_unique")
        ]
        indexes = [models.Index(fields=["account", "message"])]

    def __str__(self):
        return f"{self.message_id} → {self.account_id}"


class MailBackup(models.Model):
    """A backup of a deactivated user's mail (MAIL-2): the record-linked messages of their
    mailbox copied into the organisation's storage (ArchivedMessage), in a worker."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="backups")
    started_by = models.ForeignKey(
        CrmUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    reason = models.CharField(max_length=500, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(org="org")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox"],
                condition=models.Q(status="in_progress"),
                name="mailbackup_one_running",
            )
        ]

    def __str__(self):
        return f"{self.mailbox} {self.status}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)


class ArchivedMessage(models.Model):
    """A message kept in the organisation's storage by a backup (MAIL-2): readable by whoever
    sees a record it is linked to, whatever became of the mailbox it came from. Once per
    message: a backup run again adds nothing twice."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="archived")
    backup = models.ForeignKey(MailBackup, on_delete=models.SET_NULL, null=True, related_name="+")
    archived_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(org="org")

    def __str__(self):
        return str(self.message_id)
