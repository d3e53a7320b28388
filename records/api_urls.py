"""The JSON API under /api/v1/ (REC-4). Anything else under it answers a JSON 404."""

from django.urls import path, re_path

from . import api

urlpatterns = [
    path("contacts/", api.api_contacts, name="api_contacts"),
    path("contacts/<int:contact_id>/", api.api_contact, name="api_contact"),
    path("openapi.json", api.api_openapi, name="api_openapi"),
    re_path(r"^(?P<path>[\s\S]*)$", api.api_not_found),  # a newline too: JSON, not HTML
]
