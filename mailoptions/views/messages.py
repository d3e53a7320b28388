"""Reading a stored message (MAIL-5 point 2): only who may see it; the HTML sanitised, remote
images blocked until the reader asks for them."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..rendering import message_html
from ..selectors import message_visible_to

RECIPIENTS_SHOWN = 20


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
