"""Routes of the portal users (POR-3, POR-4, POR-8): see portals/urls.py and crm_portal/urls.py."""

from django.urls import path

from .views import email_change, users

urlpatterns = [
    path("<int:portal_pk>/users/", users.portal_user_list, name="portal_user_list"),
    path("<int:portal_pk>/users/invite/", users.portal_user_invite, name="portal_user_invite"),
    path("<int:portal_pk>/users/bulk/", users.portal_users_bulk, name="portal_users_bulk"),
    path(
        "<int:portal_pk>/users/<int:portal_user_pk>/email/",
        email_change.portal_user_email_change_view,
        name="portal_user_email_change",
    ),
    path(
        "contacts/<int:contact_pk>/invite/",
        users.contact_portal_invite,
        name="contact_portal_invite",
    ),
    path("contacts/invite/", users.contacts_portal_invite, name="contacts_portal_invite"),
]
