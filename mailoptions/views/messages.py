"""Reading a stored message (MAIL-5 point 2): only who may see it; the HTML sanitised, remote
images blocked until the reader asks for them; its attachments downloaded, never shown inline,
by the same readers."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from records.views.notes import attachment_response

from ..rendering import message_html
from ..selectors import message_attachment_visible_to, message_attachments, message_visible_to

RECIPIENTS_SHOWN = 20
# Declared types a browser neither runs nor renders as a page: sent as declared. Anything
# else (HTML, SVG, XML, scripts, unknown types) goes out as bytes (MAIL-5, X-7).
PASSIVE_TYPES = {
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "text/calendar",
}


@require_GET
def mail_message(request, org_slug, message_pk):
    message = message_visible_to(org=request.org, viewer=request.membership, pk=message_pk)
    if message is None:
        raise Http404
    show_images = request.GET.get("images") == "1"
    html, blocked = message_html(message.body_html, show_images=show_images)
    response = render(
        request,
        "mailoptions/message.html",
        {
            "message": message,
            "attachments": message_attachments(message=message),
            "html": html,
            "blocked_images": blocked,
            "to_shown": message.to[:RECIPIENTS_SHOWN],
            "to_more": max(len(message.to) - RECIPIENTS_SHOWN, 0),
            "cc_shown": message.cc[:RECIPIENTS_SHOWN],
            "cc_more": max(len(message.cc) - RECIPIENTS_SHOWN, 0),
        },
    )
    if show_images:
        # The reader asked for this message's remote images: this response alone may load them.
        response._csp_update = {"img-src": ["https:", "http:"]}
    return response


@require_GET
def mail_message_attachment(request, org_slug, message_pk, attachment_pk):
    """An attachment as a download, for whoever may read its message; 404 for anyone else,
    whether or not it exists."""
    attachment = message_attachment_visible_to(
        org=request.org, viewer=request.membership, message_pk=message_pk, pk=attachment_pk
    )
    if attachment is None:
        raise Http404
    response = attachment_response(attachment)
    if attachment.content_type not in PASSIVE_TYPES:
        response["Content-Type"] = "application/octet-stream"
    return response
