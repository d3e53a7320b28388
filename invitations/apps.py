from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from .kinds import invitation_kinds


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = _("Invitations and mail")

    def ready(self):
        invitation_kinds()  # a kind in INVITATION_KINDS that does not resolve stops startup
