"""A user's own mail settings (MAIL-5): connect a mailbox, choose the sharing, sync on demand.
Read-only while an administrator has locked them (MAIL-3); the service refuses changes too."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import refusal_to_form

from ..forms import MailboxForm
from ..models import Mailbox
from ..services import mailbox_connect, mailbox_sync_request
from ..sync import FAILURE_REASONS


def _own_mailbox(request) -> Mailbox | None:
    return request.org.mailboxes.filter(owner=request.membership).first()


@require_http_methods(["GET", "POST"])
def mail_settings(request, org_slug):
    mailbox = _own_mailbox(request)
    form = MailboxForm(request.POST or None, mailbox=mailbox)
    if request.method == "POST" and form.is_valid():
        try:
            mailbox_connect(
                membership=request.membership, actor=request.membership, **form.cleaned_data
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, _("Mail settings saved. Your mailbox is being synced."))
            return redirect("mail_settings", org_slug=request.org.slug)
    return render(
        request,
        "mailoptions/settings.html",
        {
            "form": form,
            "mailbox": mailbox,
            "failure": str(FAILURE_REASONS.get(mailbox.last_sync_error, "")) if mailbox else "",
        },
    )


@require_POST
def mail_sync_now(request, org_slug):
    mailbox = _own_mailbox(request)
    if mailbox is None:
        messages.error(request, _("Connect a mailbox first."))
    else:
        mailbox_sync_request(mailbox=mailbox, actor=request.membership)
        messages.success(request, _("Your mailbox is being synced."))
    return redirect("mail_settings", org_slug=request.org.slug)
