"""A deleted Campaigns account (CAM-8, CAM-10): the member's data (their place, role and
sender addresses) is kept six months, with notices 30 and 7 days before it is purged; joining
again with the same address within that time restores it. The clock is a parameter (`now`),
so the tests freeze it."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from crm_portal.mail import mail_enqueue
from invitations.models import Invitation

from .models import CampaignMember, SenderAddress
from .services import audit, membership_lock, refuse_last_admin, set_status
from .statuses import Status

RETENTION = relativedelta(months=6)
NOTICES = {30: "notified_30_days_at", 7: "notified_7_days_at"}
PURGE_BATCH = 200


@transaction.atomic
def member_account_delete(*, member: CampaignMember, now=None, ip=None) -> CampaignMember:
    """CAM-8: the member deletes their Campaigns account: they leave the team (not as its
    last admin) and their data is kept until purge_at."""
    now = now or timezone.now()
    member = membership_lock(member)
    refuse_last_admin(
        member, _("You are the team's only admin: make someone else an admin before leaving.")
    )
    set_status(
        member,
        "delete_account",
        account_deleted_at=now,
        purge_at=now + RETENTION,
        notified_30_days_at=None,
        notified_7_days_at=None,
    )
    audit(org=member.org, actor=member, action="campaigns.account_deleted", member=member, ip=ip)
    return member


def deleted_accounts_notify(*, now=None) -> int:
    """CAM-10: a notice 30 days and one 7 days before the purge, each sent once."""
    now = now or timezone.now()
    sent = 0
    for days, field in NOTICES.items():
        with scopes_disabled():
            due = CampaignMember.objects.filter(
                status=Status.REMOVED,
                account_deleted_at__isnull=False,
                purge_at__lte=now + timedelta(days=days),
                purge_at__gt=now,
                **{f"{field}__isnull": True},
            ).values_list("pk", flat=True)[:PURGE_BATCH]
        for pk in list(due):
            sent += notice_send(pk=pk, days=days, field=field, now=now)
    return sent


@transaction.atomic
def notice_send(*, pk: int, days: int, field: str, now) -> bool:
    with scopes_disabled():
        member = (
            CampaignMember.objects.select_for_update(of=("self",))
            .select_related("org")
            .filter(
                pk=pk,
                status=Status.REMOVED,
                account_deleted_at__isnull=False,
                **{f"{field}__isnull": True},
            )
            .first()
        )
        if member is None:
            return False
        setattr(member, field, now)
        member.save(update_fields=[field])
    mail_enqueue(notice_message(member, days))
    return True


def notice_message(member: CampaignMember, days: int) -> EmailMultiAlternatives:
    context = {"org_name": member.org.name, "days": days, "purge_at": member.purge_at}
    prefix = "campaigns_users/email/purge_notice"
    with translation.override(member.language):
        subject = " ".join(render_to_string(f"{prefix}.subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject, render_to_string(f"{prefix}.txt", context), to=[member.email]
        )
        message.attach_alternative(render_to_string(f"{prefix}.html", context), "text/html")
    return message


def deleted_accounts_purge(*, now=None, batch: int = PURGE_BATCH) -> int:
    """CAM-8: purge the data of accounts deleted six months ago, in batches, re-checking each
    one under its lock (it may have been restored meanwhile)."""
    now = now or timezone.now()
    with scopes_disabled():
        due = list(
            CampaignMember.objects.filter(
                status=Status.REMOVED, account_deleted_at__isnull=False, purge_at__lte=now
            ).values_list("pk", flat=True)[:batch]
        )
    return sum(account_purge(pk=pk, now=now) for pk in due)


@transaction.atomic
def account_purge(*, pk: int, now) -> bool:
    with scopes_disabled():
        member = (
            CampaignMember.objects.select_for_update(of=("self",))
            .select_related("org", "role")
            .filter(
                pk=pk, status=Status.REMOVED, account_deleted_at__isnull=False, purge_at__lte=now
            )
            .first()
        )
        if member is None:
            return False
        with scope(org=member.org):
            senders = SenderAddress.objects.filter(added_by=member).count()
            audit(
                org=member.org,
                actor=None,
                action="campaigns.account_purged",
                member=member,
                senders=senders,
            )
            invitation_id = member.invitation_id
            member.delete()  # its sender addresses go with it (CASCADE)
            Invitation.objects.filter(pk=invitation_id).delete()
    return True
