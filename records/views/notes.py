"""Notes and attachments on the CRM record page (POR-7): a member who may edit the record adds
a note; a member who may see the record downloads its attachments."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from users.permissions import record_permission

from ..notes import note_add, record_attachment
from ..selectors import records_visible_to
from .records import PK, record_detail

# The attachment is never rendered as a page of ours: no script, no plugin, no framing.
DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def attachment_response(attachment) -> FileResponse:
    """The file as a download with its detected type (POR-7, X-7)."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    return response


def _record(request, module, pk):
    """A record the member may see, else 404 (USR-2)."""
    visible = records_visible_to(membership=request.membership, module=module)
    return get_object_or_404(visible, pk=pk)


def _detail(request, module, record):
    return redirect(f"{module[:-1]}_detail", org_slug=request.org.slug, **{PK[module]: record.pk})


def record_note_add(request, module, pk):
    record = _record(request, module, pk)
    if not request.membership.can(record_permission(module, "edit")):
        raise PermissionDenied
    body = request.POST.get("body", "")
    try:
        note_add(
            org=request.org,
            module=module,
            record_id=record.pk,
            body=body,
            crm_user=request.membership,
        )
    except ValidationError as error:
        # The page again, with the error and the typed text in the form.
        errors = [problem for problems in error.message_dict.values() for problem in problems]
        return record_detail(request, module, pk, note_body=body, note_errors=errors)
    messages.success(request, _("Note added."))
    return _detail(request, module, record)


def record_attachment_download(request, module, pk, att_pk):
    record = _record(request, module, pk)
    attachment = record_attachment(org=request.org, module=module, record_id=record.pk, pk=att_pk)
    if attachment is None:
        raise Http404("No such attachment")
    return attachment_response(attachment)


@require_POST
def contact_note_add(request, org_slug, contact_pk):
    return record_note_add(request, "contacts", contact_pk)


@require_POST
def account_note_add(request, org_slug, account_pk):
    return record_note_add(request, "accounts", account_pk)


@require_GET
def contact_attachment(request, org_slug, contact_pk, att_pk):
    return record_attachment_download(request, "contacts", contact_pk, att_pk)


@require_GET
def account_attachment(request, org_slug, account_pk, att_pk):
    return record_attachment_download(request, "accounts", account_pk, att_pk)
