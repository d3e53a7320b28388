"""Following an invitation link (USR-4, ORG-4). Opening the link only shows a page: a mail
scanner that prefetches it accepts nothing. Accepting is a POST by the invited account."""

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from users.models import CrmUser
from users.selectors import other_active_membership

from .services import invitation_accept, invitation_lookup, verified_emails_of

SESSION_KEY = "invitation_token"


def pending_invitation_token(request) -> str | None:
    return request.session.get(SESSION_KEY)


def _invalid(request):
    request.session.pop(SESSION_KEY, None)
    return render(request, "invitations/invalid.html", status=404)


def _way_out(user, other: CrmUser) -> dict:
    """ORG-4: what the person can do about their active membership of another org."""
    with scopes_disabled():
        active = CrmUser.objects.filter(org=other.org, status=CrmUser.Status.ACTIVE)
        only_active_user = not active.exclude(pk=other.pk).exists()
        other_admins = [
            m for m in active.exclude(pk=other.pk).select_related("profile") if m.is_admin
        ]
    return {
        "other": other,
        "only_active_user": only_active_user,
        "can_transfer": other.is_super_admin and bool(other_admins),
        "can_leave": not other.is_super_admin,
    }


def _show(request, token):
    invitation = invitation_lookup(token)
    if invitation is None or not invitation.is_open:
        return _invalid(request)
    request.session[SESSION_KEY] = token
    context = {"invitation": invitation, "token": token}
    user = request.user
    if not user.is_authenticated:
        return render(request, "invitations/welcome.html", context)
    if invitation.email.lower() not in verified_emails_of(user):
        return render(request, "invitations/wrong_account.html", context)
    other = other_active_membership(user=user, org=invitation.org)
    if other is not None:
        return render(request, "invitations/other_org.html", {**context, **_way_out(user, other)})
    return render(request, "invitations/accept.html", context)


@never_cache
@require_GET
def invitation_open(request, token):
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
        membership = invitation_accept(token=token, user=request.user)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        if invitation_lookup(token) is None:
            return _invalid(request)
        return redirect("invitation_continue")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, _("Welcome to %(org)s!") % {"org": membership.org.name})
    return redirect("dashboard", org_slug=membership.org.slug)


@require_POST
def invitation_signup(request, token):
    """No account yet: sign up with the invited address fixed. Following the emailed link
    proved the address, so allauth treats it as verified (no second email)."""
    invitation = invitation_lookup(token)
    if invitation is None or not invitation.is_open:
        return _invalid(request)
    request.session[SESSION_KEY] = token
    get_adapter(request).stash_verified_email(request, invitation.email)
    return redirect("account_signup")


def invitation_for_signup(request):
    """The open invitation a sign-up in this session is answering, if any."""
    token = pending_invitation_token(request) if request is not None else None
    invitation = invitation_lookup(token) if token else None
    return invitation if invitation is not None and invitation.is_open else None
