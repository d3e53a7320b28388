"""Routes of a portal's Auto-invite and Failed invitations tabs (AUT-1 … AUT-7): see
portals/urls.py and crm_portal/urls.py."""

from django.urls import path

from .views import autoinvite, failed_invitations

urlpatterns = [
    path(
        "<int:portal_pk>/auto-invite/", autoinvite.autoinvite_settings, name="autoinvite_settings"
    ),
    path(
        "<int:portal_pk>/auto-invite/builder/",
        autoinvite.autoinvite_builder,
        name="autoinvite_builder",
    ),
    path(
        "<int:portal_pk>/auto-invite/pattern/",
        autoinvite.autoinvite_pattern,
        name="autoinvite_pattern",
    ),
    path(
        "<int:portal_pk>/auto-invite/toggle/",
        autoinvite.autoinvite_toggle,
        name="autoinvite_toggle",
    ),
    path(
        "<int:portal_pk>/auto-invite/delete/",
        autoinvite.autoinvite_delete,
        name="autoinvite_delete",
    ),
    path(
        "<int:portal_pk>/auto-invite/match/", autoinvite.autoinvite_match, name="autoinvite_match"
    ),
    path(
        "<int:portal_pk>/auto-invite/match/status/",
        autoinvite.autoinvite_match_status,
        name="autoinvite_match_status",
    ),
    path(
        "<int:portal_pk>/failed-invitations/",
        failed_invitations.failed_invitation_list,
        name="failed_invitation_list",
    ),
    path(
        "<int:portal_pk>/failed-invitations/export/<str:fmt>/",
        failed_invitations.failed_invitation_export,
        name="failed_invitation_export",
    ),
    path(
        "<int:portal_pk>/failed-invitations/retry/",
        failed_invitations.failed_invitation_retry,
        name="failed_invitation_retry",
    ),
]
