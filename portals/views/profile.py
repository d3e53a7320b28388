"""A portal user's own pages in the portal's branding (POR-7, X-2): language, password,
two-factor (allauth.mfa's TOTP and recovery codes), and "Forgot your password?" through
allauth's password reset. The admin's "Reset two-factor" of a portal user is here too."""

from allauth.account.forms import ChangePasswordForm, ResetPasswordKeyForm, UserTokenForm
from allauth.account.internal.flows.password_change import finalize_password_change
from allauth.account.internal.flows.password_reset import finalize_password_reset
from allauth.account.stages import LoginStageController
from allauth.core import ratelimit
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.stages import AuthenticateStage
from allauth.mfa.totp.forms import ActivateTOTPForm
from allauth.mfa.totp.internal.auth import clear_totp_secret
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from crm_portal.exceptions import ActionRefused
from users import permissions
from users.decorators import permission_required
from users.forms import PasswordResetForm

from .. import profile, site
from ..models import Portal, PortalUser
from ..site_access import portal_page, portal_public


def _profile_url(portal) -> str:
    return reverse("portal_profile", kwargs={"portal_slug": portal.slug})


def _context(portal, portal_user, **more) -> dict:
    modules = site.shared_modules(portal_user) if portal_user is not None else []
    return {"portal": portal, "portal_user": portal_user, "modules": modules, **more}


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"))

    def __init__(self, *args, portal, **kwargs):
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        self.fields["language"].choices = [
            (code, names[code]) for code in portal.languages if code in names
        ]


@require_http_methods(["GET", "POST"])
@portal_page
def portal_profile(request, portal, portal_user):
    """POR-7: the language of the portal user's pages and mail, and links to the rest."""
    form = LanguageForm(
        request.POST or None, portal=portal, initial={"language": portal_user.language}
    )
    if request.method == "POST" and form.is_valid():
        site.portal_user_language_set(portal_user, form.cleaned_data["language"])
        response = HttpResponseRedirect(_profile_url(portal))
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            form.cleaned_data["language"],
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
        messages.success(request, _("Your changes are saved."))
        return response
    context = _context(
        portal, portal_user, form=form, mfa_on=profile.totp_of(request.user) is not None
    )
    return render(request, "portals/site/profile.html", context)


@require_http_methods(["GET", "POST"])
@portal_page
def portal_password_change(request, portal, portal_user):
    """X-2: the current password first; allauth's password rules; allauth's "password
    changed" (notification mail; every other session of the account is signed out)."""
    form = ChangePasswordForm(data=request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        finalize_password_change(request, request.user)
        if not request.user.is_authenticated:
            return redirect("portal_login", portal_slug=portal.slug)
        return redirect("portal_profile", portal_slug=portal.slug)
    context = _context(portal, portal_user, form=form)
    return render(request, "portals/site/password_change.html", context)


@require_http_methods(["GET", "POST"])
@portal_page
def portal_mfa(request, portal, portal_user):
    """X-2: two-factor with an authenticator app — allauth's TOTP, confirmed with a code."""
    if profile.totp_of(request.user) is not None:
        codes_left = len(profile.recovery_codes_of(request.user))
        context = _context(portal, portal_user, codes_left=codes_left)
        return render(request, "portals/site/mfa_on.html", context)
    form = ActivateTOTPForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        codes = profile.mfa_activate(request.user, form.secret)
        clear_totp_secret(request)
        messages.success(request, _("Two-factor authentication is on."))
        context = _context(portal, portal_user, codes=codes, fresh=True)
        return render(request, "portals/site/mfa_recovery.html", context)
    adapter = get_mfa_adapter()
    totp_url = adapter.build_totp_url(request.user, form.secret)
    svg = adapter.build_totp_svg(totp_url)
    svg = svg[svg.find("<svg") :]  # the drawing alone, inline in the page (no XML prologue)
    context = _context(portal, portal_user, form=form, secret=form.secret, totp_svg=svg)
    return render(request, "portals/site/mfa_setup.html", context)


class ConfirmForm(forms.Form):
    """The account's password, or a code from the authenticator app or a recovery code."""

    password = forms.CharField(
        label=gettext_lazy("Current password"),
        required=False,
        max_length=4096,
        widget=forms.PasswordInput,
    )
    code = forms.CharField(
        label=gettext_lazy("Or a code from your authenticator app or a recovery code"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = request.user

    def clean(self):
        data = super().clean()
        # allauth's limit on re-entering credentials (10 a minute per account).
        if not ratelimit.consume(self.request, action="reauthenticate", user=self.user):
            raise forms.ValidationError(_("Too many attempts. Try again in a minute."))
        if not profile.mfa_check(self.user, password=data.get("password"), code=data.get("code")):
            raise forms.ValidationError(_("Enter your current password or a valid code."))
        return data


@require_http_methods(["GET", "POST"])
@portal_page
def portal_mfa_recovery(request, portal, portal_user):
    """X-2: the unused recovery codes; new ones (after the password or a code) replace them."""
    if profile.totp_of(request.user) is None:
        return redirect("portal_mfa", portal_slug=portal.slug)
    form = ConfirmForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        codes = profile.recovery_codes_regenerate(request.user)
        messages.success(request, _("New recovery codes are made; the old ones no longer work."))
        return render(
            request, "portals/site/mfa_recovery.html", _context(portal, portal_user, codes=codes)
        )
    codes = profile.recovery_codes_of(request.user)
    context = _context(portal, portal_user, codes=codes, form=form)
    return render(request, "portals/site/mfa_recovery.html", context)


@require_http_methods(["GET", "POST"])
@portal_page
def portal_mfa_off(request, portal, portal_user):
    """X-2: two-factor off after the password or a code."""
    if profile.totp_of(request.user) is None:
        return redirect("portal_mfa", portal_slug=portal.slug)
    form = ConfirmForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        profile.mfa_deactivate(request.user)
        messages.success(request, _("Two-factor authentication is off."))
        return redirect("portal_profile", portal_slug=portal.slug)
    return render(request, "portals/site/mfa_off.html", _context(portal, portal_user, form=form))


# --- signing in with two-factor (X-2) -------------------------------------------------------


def mfa_stage_url(portal, response):
    """allauth's two-factor stage of a portal sign-in continues on the portal's own page."""
    if response.get("Location") == reverse("mfa_authenticate"):
        return redirect("portal_login_mfa", portal_slug=portal.slug)
    return response


@require_http_methods(["GET", "POST"])
@portal_public
def portal_login_mfa(request, portal, portal_user):
    """allauth's MFA stage in the portal's branding: a code from the authenticator app or a
    recovery code (allauth's AuthenticateForm, its rate limits), then allauth goes on."""
    stage = (
        None
        if request.user.is_authenticated
        else LoginStageController.enter(request, AuthenticateStage.key)
    )
    if stage is None:
        return redirect("portal_login", portal_slug=portal.slug)
    form = AuthenticateForm(user=stage.login.user, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return stage.exit()
    return render(request, "portals/site/login_mfa.html", _context(portal, None, form=form))


# --- forgot password (X-2) ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_public
def portal_password_reset(request, portal, portal_user):
    """allauth's password reset from the portal: the same answer whether the address has an
    account or not; the mailed link leads to this portal's page for the new password."""
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save(request)
        return render(request, "portals/site/password_reset_sent.html", _context(portal, None))
    return render(request, "portals/site/password_reset.html", _context(portal, None, form=form))


@require_http_methods(["GET", "POST"])
@portal_public
def portal_password_reset_key(request, portal, portal_user, uidb36: str, key: str):
    """The new password, from the mailed link; then the portal's sign-in."""
    token = UserTokenForm(data={"uidb36": uidb36, "key": key})
    if not token.is_valid():
        return render(
            request, "portals/site/password_reset_key.html", _context(portal, None, token_fail=True)
        )
    user = token.reset_user
    form = ResetPasswordKeyForm(request.POST or None, user=user, temp_key=key)
    if request.method == "POST" and form.is_valid():
        form.save()
        finalize_password_reset(request, user)
        return redirect("portal_login", portal_slug=portal.slug)
    context = _context(portal, None, form=form)
    return render(request, "portals/site/password_reset_key.html", context)


# --- the admin's side (X-2) -----------------------------------------------------------------


@permission_required(permissions.MANAGE_PORTAL_USERS)
@require_http_methods(["GET", "POST"])
def portal_user_mfa_reset(request, org_slug, portal_pk, portal_user_pk):
    """X-2: remove a portal user's two-factor (after a confirmation page), audited."""
    portal = get_object_or_404(Portal.objects.filter(org=request.org), pk=portal_pk)
    portal_user = get_object_or_404(
        PortalUser.objects.select_related("group", "user"), portal=portal, pk=portal_user_pk
    )
    back = reverse("portal_user_list", kwargs={"org_slug": org_slug, "portal_pk": portal.pk})
    if request.method == "POST":
        try:
            profile.portal_user_mfa_reset(
                actor=request.membership,
                portal=portal,
                portal_user=portal_user,
                ip=request.META.get("REMOTE_ADDR"),
            )
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                _("Two-factor authentication of %(email)s is reset.")
                % {"email": portal_user.email},
            )
        return redirect(back)
    has_mfa = portal_user.user_id is not None and profile.totp_of(portal_user.user) is not None
    context = {"portal": portal, "portal_user": portal_user, "has_mfa": has_mfa, "back": back}
    return render(request, "portals/users/mfa_reset.html", context)
