"""Reads of the mail add-on, always through the org."""

from django.db.models import Count, Q, QuerySet

from users.models import CrmUser

from .models import Mailbox

LOCK_FILTERS = {"locked": Q(locked=True), "unlocked": Q(locked=False)}


def mail_users(
    *,
    org,
    status: str = CrmUser.Status.ACTIVE,
    sharing: str = "",
    lock: str = "",
    result: str = "",
    query: str = "",
) -> QuerySet:
    """The add-on's users (MAIL-1): mailboxes of the org's users of one status, with their
    owner, filtered and searched by name, email or login."""
    mailboxes = Mailbox.objects.filter(org=org, owner__status=status).select_related("owner")
    if sharing:
        mailboxes = mailboxes.filter(sharing=sharing)
    if lock in LOCK_FILTERS:
        mailboxes = mailboxes.filter(LOCK_FILTERS[lock])
    if result:
        mailboxes = mailboxes.filter(last_sync_result=result)
    if query:
        mailboxes = mailboxes.filter(
            Q(owner__first_name__icontains=query)
            | Q(owner__last_name__icontains=query)
            | Q(owner__email__icontains=query)
            | Q(login__icontains=query)
        )
    return mailboxes.order_by("owner__last_name", "owner__first_name", "pk")


def mail_user_counts(*, org) -> dict[str, int]:
    """How many mailboxes the org's active and deactivated users have, for the tabs."""
    rows = (
        Mailbox.objects.filter(org=org)
        .values_list("owner__status")
        .annotate(n=Count("pk"))
        .values_list("owner__status", "n")
    )
    return dict(rows)


def message_counts(*, mailboxes) -> dict[int, int]:
    """Messages each mailbox holds (MAIL-1's deactivated users), in one statement."""
    return dict(
        Mailbox.objects.filter(pk__in=[m.pk for m in mailboxes])
        .annotate(n=Count("copies__message", distinct=True))
        .values_list("pk", "n")
    )
