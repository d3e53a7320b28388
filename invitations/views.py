"""Following an invitation link (USR-4, ORG-4), for every kind. Opening the link only shows a
page: a mail scanner that prefetches it accepts nothing. Accepting is a POST by the invited
account. The kind's adapter supplies its accept page, what stands in the way (ORG-4's "other
organisation" page) and where the person lands."""

import hashlib

from allauth.account.adapter import get_adapter
from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip

from .kinds import invitation_kind
from .services import (
    invitation_accept,
    invitation_declinable,
    invitation_decline,
    invitation_lookup,
    invitation_resend_on_request,
    verified_emails_of,
)

SESSION_KEY = "invitation_token"
# POR-9: asking for a new link, per client address and per typed address, per hour (shared
# cache, so every web process counts together).
RENEW_LIMITS = {"ip": 20, "email": 5}
RENEW_WINDOW = 3600


class RenewRequestForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Your email address"), max_length=254)


def pending_invitation_token(request) -> str | None:
    return request.session.get(SESSION_KEY)


def _invalid(request, token=None, form=None, status=404):
    """The one page for unknown, expired, used, replaced and revoked links (USR-4). It offers
    to send a new link (POR-9); on the link's own address the form posts back to it, so the
    page reads the same whatever the link."""
    request.session.pop(SESSION_KEY, None)
    renew_action = None
    if token and request.resolver_match.url_name != "invitation_open":
        renew_action = reverse("invitation_open", kwargs={"token": token})
    context = {"renew_form": form or RenewRequestForm(), "renew_action": renew_action}
    return render(request, "invitations/invalid.html", context, status=status)


def _over_renew_limit(kind: str, value: str) -> bool:
    digest = hashlib.sha256(value.encode()).hexdigest()
    key = f"invitation-renew:{kind}:{digest}"
    cache.add(key, 0, timeout=RENEW_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=RENEW_WINDOW)
        count = 1
    return count > RENEW_LIMITS[kind]


def _renew_requested(request, token):
    """POR-9: the same answer whether or not a new link went out (USR-4)."""
    form = RenewRequestForm(request.POST)
    if not form.is_valid():
        return _invalid(request, token, form=form, status=400)
    email = form.cleaned_data["email"].strip().lower()
    over_ip = _over_renew_limit("ip", client_ip(request) or "")
    over_email = _over_renew_limit("email", email)
    if not (over_ip or over_email):
        invitation_resend_on_request(token=token, email=email, ip=client_ip(request))
    return render(request, "invitations/renew_requested.html")


def _show(request, token):
    invitation = invitation_lookup(token)
    if invitation is None or not invitation.is_open:
        return _invalid(request, token)
    kind = invitation_kind(invitation.kind)
    request.session[SESSION_KEY] = token
    context = {"invitation": invitation, "token": token}
    user = request.user
    if not user.is_authenticated:
        return render(request, "invitations/welcome.html", context)
    if invitation.email.lower() not in verified_emails_of(user):
        return render(request, "invitations/wrong_account.html", context)
    obstacle = kind.obstacle(invitation=invitation, user=user)
    if obstacle is not None:
        template, way_out = obstacle
        return render(request, template, {**context, **way_out})
    return render(request, kind.accept_template, context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_open(request, token):
    """Opening the link only shows a page. A POST is the invalid-link page's request for a
    new link (POR-9); it never accepts anything."""
    if request.method == "POST":
        return _renew_requested(request, token)
    return _show(request, token)


@never_cache
@require_GET
def invitation_continue(request):
    """Where sign-up and sign-in come back to: the invitation kept in the session."""
    token = pending_invitation_token(request)
    if not token:
        return redirect("home")
    return _show(request, token)


@require_POST
def invitation_accept_view(request, token):
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("invitation_continue"))
    try:
        invitation = invitation_accept(token=token, user=request.user)
    except ActionRefused as refusal:
        # Unknown, expired, used, replaced and revoked links all get the invalid page, on
        # POST as on GET (no oracle); a refusal of an open link says why and shows the way.
        current = invitation_lookup(token)
        if current is None or not current.is_open:
            return _invalid(request, token)
        messages.error(request, refusal.message)
        return redirect("invitation_continue")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, _("Welcome to %(org)s!") % {"org": invitation.org.name})
    return redirect(invitation_kind(invitation.kind).landing_url(invitation))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_decline_view(request, token):
    """CAM-4: GET asks, POST declines; no sign-in needed. A link that cannot be declined
    (unknown, dead, or of a kind without declining) gets the one invalid-link page."""
    if not invitation_declinable(invitation_lookup(token)):
        return _invalid(request, token)
    if request.method != "POST":
        return render(request, "invitations/decline.html", {"token": token})
    try:
        invitation = invitation_decline(token=token)
    except ActionRefused:
        return _invalid(request, token)
    request.session.pop(SESSION_KEY, None)
    return render(request, "invitations/declined.html", {"invitation": invitation})


@require_POST
def invitation_signup(request, token):
    """No account yet: sign up with the invited address fixed. Following the emailed link
    proved the address, so allauth treats it as verified (no second email)."""
    invitation = invitation_lookup(token)
    if invitation is None or not invitation.is_open:
        return _invalid(request, token)
    request.session[SESSION_KEY] = token
    get_adapter(request).stash_verified_email(request, invitation.email)
    return redirect("account_signup")


def invitation_for_signup(request):
    """The open invitation a sign-up in this session is answering, if any."""
    token = pending_invitation_token(request) if request is not None else None
    invitation = invitation_lookup(token) if token else None
    return invitation if invitation is not None and invitation.is_open else None
