"""The mail add-on's admin page (MAIL-1) and the lock / unlock confirmations (MAIL-3)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm_portal.exceptions import ActionRefused
from crm_portal.params import page_param
from users.decorators import admin_required

from ..backups import backup_refusal, mailbox_backup_start
from ..forms import MailUserFilterForm, MailUserFilters
from ..models import Mailbox
from ..selectors import latest_backups, mail_user_counts, mail_users, message_counts
from ..services import active_admin_count, lock_refusal, mailbox_lock, mailbox_unlock
from ..sync import FAILURE_REASONS

PAGE_SIZE = 50


@require_GET
@admin_required
def mail_user_list(request, org_slug):
    filters = MailUserFilters(request.GET)
    page = Paginator(mail_users(org=request.org, **filters.as_kwargs()), PAGE_SIZE).get_page(
        page_param(request.GET)
    )
    mailboxes = list(page.object_list)
    admins = active_admin_count(request.org)
    deactivated = filters.status == "deactivated"
    counts = message_counts(mailboxes=mailboxes) if deactivated else {}
    backups = latest_backups(mailboxes=mailboxes) if deactivated else {}
    rows = [_row(request.membership, mailbox, admins, counts, backups) for mailbox in mailboxes]
    keep = request.GET.copy()
    keep.pop("page", None)
    tab_counts = mail_user_counts(org=request.org)
    return render(
        request,
        "mailoptions/user_list.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "form": MailUserFilterForm(initial=filters.as_kwargs()),
            "querystring": keep.urlencode(),
            "tabs": [
                ("active", _("Active users"), tab_counts.get("active", 0)),
                ("deactivated", _("Deactivated users"), tab_counts.get("deactivated", 0)),
            ],
        },
    )


def _row(actor, mailbox: Mailbox, admins: int, counts: dict, backups: dict) -> dict:
    lockable = mailbox.locked or mailbox.sharing != Mailbox.Sharing.DONT_SHARE
    refusal = lock_refusal(
        mailbox=mailbox, actor=actor, locking=not mailbox.locked, admin_count=admins
    )
    return {
        "mailbox": mailbox,
        "can_toggle": lockable and refusal is None,
        "refusal": refusal,
        "failure": str(FAILURE_REASONS.get(mailbox.last_sync_error, "")),
        "messages": counts.get(mailbox.pk, 0),
        "backup": backups.get(mailbox.pk),
    }


def _toggle_page(request, mailbox_pk: int, *, locking: bool):
    mailbox = get_object_or_404(request.org.mailboxes.select_related("owner"), pk=mailbox_pk)
    error = None
    if request.method == "POST":
        service = mailbox_lock if locking else mailbox_unlock
        try:
            service(mailbox=mailbox, actor=request.membership)
        except ActionRefused as refusal:
            error = refusal.message
        else:
            done = (
                _("%(name)s's mail settings are locked.")
                if locking
                else _("%(name)s's mail settings are unlocked.")
            )
            messages.success(request, done % {"name": mailbox.owner})
            return redirect("mail_user_list", org_slug=request.org.slug)
    return render(
        request,
        "mailoptions/lock_confirm.html",
        {"mailbox": mailbox, "locking": locking, "error": error},
    )


@require_http_methods(["GET", "POST"])
@admin_required
def mail_user_lock(request, org_slug, mailbox_pk):
    return _toggle_page(request, mailbox_pk, locking=True)


@require_http_methods(["GET", "POST"])
@admin_required
def mail_user_unlock(request, org_slug, mailbox_pk):
    return _toggle_page(request, mailbox_pk, locking=False)


@require_http_methods(["GET", "POST"])
@admin_required
def mail_user_backup(request, org_slug, mailbox_pk):
    """MAIL-2: confirm, then start a backup of a deactivated user's mail in a worker; a
    refusal (MAIL-4) is shown with its reason."""
    mailbox = get_object_or_404(request.org.mailboxes.select_related("owner"), pk=mailbox_pk)
    error = backup_refusal(mailbox=mailbox, actor=request.membership)
    if request.method == "POST" and error is None:
        try:
            mailbox_backup_start(mailbox=mailbox, actor=request.membership)
        except ActionRefused as refusal:
            error = refusal.message
        else:
            messages.success(
                request, _("The backup of %(name)s's mail has started.") % {"name": mailbox.owner}
            )
            return redirect(
                f"{reverse('mail_user_list', args=[request.org.slug])}?status=deactivated"
            )
    return render(request, "mailoptions/backup_confirm.html", {"mailbox": mailbox, "error": error})
