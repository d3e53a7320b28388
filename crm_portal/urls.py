from django.urls import include, path

from campaigns_users.views import sender_verify
from invitations.hooks import tracking_webhook

from . import views

handler500 = views.server_error

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("language/", views.language_set, name="language_set"),
    path("accounts/", include("allauth.urls")),
    path("invite/", include("invitations.urls")),
    path("senders/verify/<str:token>/", sender_verify, name="sender_verify"),
    path("hooks/mail/<str:provider>/tracking/", tracking_webhook, name="mail_tracking_webhook"),
    path("api/v1/", include("records.api_urls")),
    path("o/<slug:org_slug>/", include("users.urls")),
    path("o/<slug:org_slug>/", include("records.urls")),
    path("o/<slug:org_slug>/portals/", include("portals.urls")),
    path("o/<slug:org_slug>/campaigns/", include("campaigns_users.urls")),
    path("o/<slug:org_slug>/mail/", include("mailoptions.urls")),
    # The portal site of one portal, for its portal users (POR-7).
    path("portal/<slug:portal_slug>/", include("portals.site_urls")),
]
