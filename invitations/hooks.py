"""The mail provider's tracking webhook (AUT-9): POST /hooks/mail/<provider>/tracking/.

anymail's view of the provider checks the call — HTTP basic auth with ANYMAIL_WEBHOOK_SECRET
("user:password", set at the provider in the webhook's URL), plus the provider's signature
where it signs (Mailgun: ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY) — and parses its payload;
invitations.webhooks applies each event. Without a webhook secret the webhooks do not exist
(404): anymail would otherwise accept unauthenticated calls. A forged, unsigned or malformed
call is refused with 400 and changes nothing; only a failure of ours answers 5xx, which
providers retry."""

import logging

from anymail.exceptions import AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from anymail.webhooks.sparkpost import SparkPostTrackingWebhookView
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .webhooks import delivery_report_apply

logger = logging.getLogger(__name__)

TRACKING_VIEWS = {
    "amazon_ses": AmazonSESTrackingWebhookView,
    "brevo": BrevoTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
    "mailjet": MailjetTrackingWebhookView,
    "postmark": PostmarkTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
    "sparkpost": SparkPostTrackingWebhookView,
}
# What a payload that passed the checks but is not what the provider sends raises in parsing.
MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError)


def _provider_view(provider: str):
    """anymail's webhook view of `provider`, or Http404 when it is unknown or not set up."""
    view_class = TRACKING_VIEWS.get(provider)
    if view_class is None or not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        raise Http404
    try:
        return view_class()
    except AnymailConfigurationError as error:  # e.g. Mailgun without its signing key
        logger.warning("The %s tracking webhook is not set up: %s", provider, error)
        raise Http404 from error


@csrf_exempt
@require_http_methods(["POST", "HEAD"])
def tracking_webhook(request, provider: str):
    view = _provider_view(provider)
    if request.method == "HEAD":  # some providers check the URL once when it is set up
        return HttpResponse()
    try:
        view.run_validators(request)
        events = view.parse_events(request)
    except AnymailWebhookValidationFailure as error:
        logger.warning("Refused a %s tracking webhook call: %s", provider, error)
        return HttpResponseBadRequest("Refused.")
    except (*MALFORMED, AnymailConfigurationError) as error:  # e.g. an inbound payload
        logger.warning("A %s tracking webhook call could not be read: %r", provider, error)
        return HttpResponseBadRequest("Malformed.")
    for event in events:
        delivery_report_apply(event=event, esp_name=view.esp_name)
    return HttpResponse()
