"""The portal pages of the CRM, under /o/<org_slug>/portals/ (POR-1 … POR-8). Each part keeps
its own list of routes."""

from django.urls import include, path

from .views import profile

urlpatterns = [
    path("", include("portals.urls_config")),  # portals and user groups (POR-1, POR-2)
    path("", include("portals.urls_users")),  # portal users (POR-3, POR-4, POR-8)
    path("", include("portals.urls_templates")),  # email templates (POR-6)
    path("", include("portals.urls_autoinvite")),  # auto-invite, failed invitations (AUT-1…7)
    # a portal user's two-factor reset by an admin (pprofile; X-2)
    path(
        "<int:portal_pk>/users/<int:portal_user_pk>/reset-two-factor/",
        profile.portal_user_mfa_reset,
        name="portal_user_mfa_reset",
    ),
]
