from allauth.account.adapter import DefaultAccountAdapter
from allauth.utils import build_absolute_uri
from django.contrib.sites.shortcuts import get_current_site
from django.urls import reverse

from crm_portal.mail import mail_enqueue
from invitations.views import pending_invitation_token

from .services.organizations import organizations_verify_for_email


class AccountAdapter(DefaultAccountAdapter):
    """allauth hooks: mail goes out from a worker (X-4); a confirmed address verifies the org."""

    def send_mail(self, template_prefix, email, context):
        request = context.get("request")
        ctx = {"email": email, **context}
        if request is not None:
            ctx.setdefault("current_site", self._site_for(request))
        mail_enqueue(self.render_mail(template_prefix, email, ctx))

    def _site_for(self, request):
        return get_current_site(request)

    def _pending_invitation_url(self, request):
        return reverse("invitation_continue") if pending_invitation_token(request) else None

    def get_signup_redirect_url(self, request):
        return self._pending_invitation_url(request) or super().get_signup_redirect_url(request)

    def get_login_redirect_url(self, request):
        return self._pending_invitation_url(request) or super().get_login_redirect_url(request)

    def get_reset_password_from_key_url(self, key):
        """A reset asked for from a portal's page (request.portal, set by the portal site)
        links to that portal's page for the new password (X-2, POR-7)."""
        portal = getattr(self.request, "portal", None)
        if portal is None:
            return super().get_reset_password_from_key_url(key)
        uidb36, _sep, token = key.partition("-")
        path = reverse(
            "portal_password_reset_key",
            kwargs={"portal_slug": portal.slug, "uidb36": uidb36, "key": token},
        )
        return build_absolute_uri(self.request, path)

    def confirm_email(self, request, email_address):
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            organizations_verify_for_email(user=email_address.user, email=email_address.email)
        return confirmed
