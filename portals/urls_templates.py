"""Routes: see portals/urls.py and crm_portal/urls.py. Email templates (POR-6)."""

from django.urls import path

from .views import templates

TEMPLATE = "<int:portal_pk>/emails/<slug:kind>/<slug:language>/"

urlpatterns = [
    path("<int:portal_pk>/emails/", templates.email_template_list, name="email_template_list"),
    path(TEMPLATE, templates.email_template_edit, name="email_template_edit"),
    path(f"{TEMPLATE}preview/", templates.email_template_preview, name="email_template_preview"),
    path(f"{TEMPLATE}test/", templates.email_template_test, name="email_template_test"),
    path(f"{TEMPLATE}reset/", templates.email_template_reset, name="email_template_reset"),
]
