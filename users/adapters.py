from allauth.account.adapter import DefaultAccountAdapter
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

    def confirm_email(self, request, email_address):
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            organizations_verify_for_email(user=email_address.user, email=email_address.email)
        return confirmed
