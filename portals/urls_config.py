"""Routes: see portals/urls.py and crm_portal/urls.py. Portals and their user groups (POR-1,
POR-2)."""

from django.urls import path

from .views import config as views

urlpatterns = [
    path("", views.portal_list, name="portal_list"),
    path("new/", views.portal_create, name="portal_create"),
    path("<int:portal_pk>/", views.portal_detail, name="portal_detail"),
    path("<int:portal_pk>/logo/", views.portal_logo, name="portal_logo"),
    path("<int:portal_pk>/edit/", views.portal_edit, name="portal_edit"),
    path("<int:portal_pk>/toggle/", views.portal_toggle, name="portal_toggle"),
    path("<int:portal_pk>/delete/", views.portal_delete, name="portal_delete"),
    path("<int:portal_pk>/groups/", views.usergroup_list, name="usergroup_list"),
    path("<int:portal_pk>/groups/new/", views.usergroup_create, name="usergroup_create"),
    path(
        "<int:portal_pk>/groups/<int:group_pk>/edit/",
        views.usergroup_edit,
        name="usergroup_edit",
    ),
    path(
        "<int:portal_pk>/groups/<int:group_pk>/delete/",
        views.usergroup_delete,
        name="usergroup_delete",
    ),
]
