"""Routes of the Campaigns area (issue 15), under /o/<org_slug>/campaigns/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.campaigns_home, name="campaigns_home"),
    path("leave/", views.campaigns_leave, name="campaigns_leave"),
    path("account/delete/", views.campaigns_account_delete, name="campaigns_account_delete"),
    path("team/", views.campaigns_members, name="campaigns_members"),
    path("team/invite/", views.campaigns_member_invite, name="campaigns_member_invite"),
    path(
        "team/<int:campaign_member_pk>/resend/",
        views.campaigns_member_resend,
        name="campaigns_member_resend",
    ),
    path(
        "team/<int:campaign_member_pk>/retarget/",
        views.campaigns_member_retarget,
        name="campaigns_member_retarget",
    ),
    path(
        "team/<int:campaign_member_pk>/role/",
        views.campaigns_member_role,
        name="campaigns_member_role",
    ),
    path(
        "team/<int:campaign_member_pk>/deactivate/",
        views.campaigns_member_deactivate,
        name="campaigns_member_deactivate",
    ),
    path(
        "team/<int:campaign_member_pk>/reactivate/",
        views.campaigns_member_reactivate,
        name="campaigns_member_reactivate",
    ),
    path(
        "team/<int:campaign_member_pk>/remove/",
        views.campaigns_member_remove,
        name="campaigns_member_remove",
    ),
    path("senders/", views.campaigns_senders, name="campaigns_senders"),
    path(
        "senders/<int:sender_pk>/delete/",
        views.campaigns_sender_delete,
        name="campaigns_sender_delete",
    ),
    path("roles/", views.campaigns_roles, name="campaigns_roles"),
    path(
        "roles/<int:campaign_role_pk>/delete/",
        views.campaigns_role_delete,
        name="campaigns_role_delete",
    ),
]
