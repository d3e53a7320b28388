"""The JSON API under /api/v1/ (REC-4). Anything else under it answers a JSON 404."""

from django.urls import path, re_path

from . import api

urlpatterns = [
    path("contacts/", api.contacts_endpoint, name="api_contacts"),
    path("contacts/<int:contact_id>/", api.contact_endpoint, name="api_contact"),
    path("openapi.json", api.openapi_endpoint, name="api_openapi"),
    re_path(r"^(?P<path>.*)$", api.api_not_found),
]
