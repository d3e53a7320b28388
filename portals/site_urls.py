"""The portal site of one portal, under /portal/<portal_slug>/ (POR-7); see crm_portal/urls.py.
Every route here has rows in tests/portals/test_site_matrix.py (a new one without fails it)."""

from django.urls import path, re_path

from .views import email_change, profile
from .views import site as views

urlpatterns = [
    path("", views.portal_home, name="portal_home"),
    path("sign-in/", views.portal_login, name="portal_login"),
    path("sign-out/", views.portal_logout, name="portal_logout"),
    path("theme.css", views.portal_theme, name="portal_theme"),
    path("language/", views.portal_language, name="portal_language"),
    path("email/<str:token>/", email_change.portal_email_confirm, name="portal_email_confirm"),
    # the portal user's own account and the forgotten password (pprofile; POR-7, X-2)
    path("sign-in/two-factor/", profile.portal_login_mfa, name="portal_login_mfa"),
    path("profile/", profile.portal_profile, name="portal_profile"),
    path("profile/password/", profile.portal_password_change, name="portal_password_change"),
    path("profile/two-factor/", profile.portal_mfa, name="portal_mfa"),
    path(
        "profile/two-factor/recovery-codes/",
        profile.portal_mfa_recovery,
        name="portal_mfa_recovery",
    ),
    path("profile/two-factor/off/", profile.portal_mfa_off, name="portal_mfa_off"),
    path("password-reset/", profile.portal_password_reset, name="portal_password_reset"),
    re_path(
        r"^password-reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        profile.portal_password_reset_key,
        name="portal_password_reset_key",
    ),
    path("<slug:module>/", views.portal_record_list, name="portal_record_list"),
    path("<slug:module>/new/", views.portal_record_create, name="portal_record_create"),
    path("<slug:module>/<int:pk>/", views.portal_record_detail, name="portal_record_detail"),
    path("<slug:module>/<int:pk>/edit/", views.portal_record_edit, name="portal_record_edit"),
    path("<slug:module>/<int:pk>/notes/", views.portal_note_add, name="portal_note_add"),
    path(
        "<slug:module>/<int:pk>/attachments/",
        views.portal_attachment_add,
        name="portal_attachment_add",
    ),
    path(
        "<slug:module>/<int:pk>/attachments/<int:att_pk>/",
        views.portal_attachment_download,
        name="portal_attachment_download",
    ),
]
