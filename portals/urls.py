"""The portal pages of the CRM, under /o/<org_slug>/portals/ (POR-1 … POR-8). Each part keeps
its own list of routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("portals.urls_config")),  # portals and user groups (POR-1, POR-2)
    path("", include("portals.urls_users")),  # portal users (POR-3, POR-4, POR-8)
    path("", include("portals.urls_templates")),  # email templates (POR-6)
]
