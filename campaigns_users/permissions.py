"""What a Campaigns role may allow (CAM-1)."""

from django.utils.translation import gettext_lazy as _

CREATE_CAMPAIGNS = "create_campaigns"
SEND_CAMPAIGNS = "send_campaigns"
MANAGE_LISTS = "manage_lists"
VIEW_REPORTS = "view_reports"
MANAGE_SENDERS = "manage_senders"
MANAGE_USERS = "manage_users"

CHOICES = [
    (CREATE_CAMPAIGNS, _("Create campaigns")),
    (SEND_CAMPAIGNS, _("Send campaigns")),
    (MANAGE_LISTS, _("Manage lists")),
    (VIEW_REPORTS, _("View reports")),
    (MANAGE_SENDERS, _("Manage sender addresses")),
    (MANAGE_USERS, _("Manage users")),
]
ALL = [value for value, _label in CHOICES]
# The built-in Standard User: everything but running the team.
STANDARD_USER = [CREATE_CAMPAIGNS, SEND_CAMPAIGNS, MANAGE_LISTS, VIEW_REPORTS, MANAGE_SENDERS]
