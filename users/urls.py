"""Everything under /o/<org_slug>/ that belongs to the users app (included by
crm_portal/urls.py)."""

from django.urls import path

from .views import (
    access,
    audit,
    dashboard,
    details,
    imports,
    members,
    org_settings,
    organization,
)

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    # The team (USR-3, USR-5, USR-7, ORG-1, ORG-2, ORG-5)
    path("users/", members.user_list, name="user_list"),
    path("users/new/", members.user_add, name="user_add"),
    path("users/reinvite/", members.users_reinvite_selected, name="users_reinvite_selected"),
    path("users/reinvite-held/", members.users_reinvite_held, name="users_reinvite_held"),
    path("users/<int:user_pk>/", members.user_detail, name="user_detail"),
    path("users/<int:user_pk>/access/", members.user_access_edit, name="user_access_edit"),
    path("users/<int:user_pk>/reinvite/", members.user_reinvite, name="user_reinvite"),
    path("users/<int:user_pk>/deactivate/", members.user_deactivate, name="user_deactivate"),
    path("users/<int:user_pk>/activate/", members.user_activate, name="user_activate"),
    path("users/<int:user_pk>/delete/", members.user_delete, name="user_delete"),
    # The user import wizard (IMP-1 … IMP-7)
    path("users/import/", imports.user_import_upload, name="user_import_upload"),
    path("users/import/history/", imports.user_import_history, name="user_import_history"),
    path("users/import/sample.<str:fmt>", imports.user_import_sample, name="user_import_sample"),
    path("users/import/<int:import_pk>/", imports.user_import_detail, name="user_import_detail"),
    path(
        "users/import/<int:import_pk>/options/",
        imports.user_import_options,
        name="user_import_options",
    ),
    path(
        "users/import/<int:import_pk>/columns/",
        imports.user_import_mapping,
        name="user_import_mapping",
    ),
    path(
        "users/import/<int:import_pk>/preview/",
        imports.user_import_preview,
        name="user_import_preview",
    ),
    path(
        "users/import/<int:import_pk>/progress/",
        imports.user_import_progress,
        name="user_import_progress",
    ),
    path(
        "users/import/<int:import_pk>/resume/",
        imports.user_import_resume,
        name="user_import_resume",
    ),
    path(
        "users/import/<int:import_pk>/failed.<str:fmt>",
        imports.user_import_failed_rows,
        name="user_import_failed_rows",
    ),
    path(
        "users/import/<int:import_pk>/reinvite/",
        imports.user_import_reinvite,
        name="user_import_reinvite",
    ),
    # Profiles (USR-1), roles (USR-2) and territories (USR-8)
    path("settings/profiles/", access.profile_list, name="profile_list"),
    path("settings/profiles/new/", access.profile_create, name="profile_create"),
    path("settings/profiles/<int:profile_pk>/edit/", access.profile_edit, name="profile_edit"),
    path(
        "settings/profiles/<int:profile_pk>/delete/",
        access.profile_delete,
        name="profile_delete",
    ),
    path("settings/roles/", access.role_list, name="role_list"),
    path("settings/roles/new/", access.role_create, name="role_create"),
    path("settings/roles/<int:role_pk>/edit/", access.role_edit, name="role_edit"),
    path("settings/roles/<int:role_pk>/delete/", access.role_delete, name="role_delete"),
    path("settings/territories/", access.territory_list, name="territory_list"),
    path("settings/territories/toggle/", access.territories_toggle, name="territories_toggle"),
    path("settings/territories/new/", access.territory_create, name="territory_create"),
    path(
        "settings/territories/<int:territory_pk>/edit/",
        access.territory_edit,
        name="territory_edit",
    ),
    path(
        "settings/territories/<int:territory_pk>/delete/",
        access.territory_delete,
        name="territory_delete",
    ),
    # The audit log (USR-9)
    path("settings/audit-log/", audit.audit_log, name="audit_log"),
    path("settings/audit-log/export.csv", audit.audit_log_export, name="audit_log_export"),
    # User details (USR-6)
    path("users/<int:user_pk>/details/", details.user_details_edit, name="user_details_edit"),
    path("me/", details.my_details, name="my_details"),
    path("me/date-formats/", details.details_date_formats, name="details_date_formats"),
    # The organisation's settings (ORG-7, X-3) and the super admin transfer (ORG-1)
    path("settings/", org_settings.org_settings, name="org_settings"),
    path("settings/name/", org_settings.org_settings_name, name="org_settings_name"),
    path("settings/address/", org_settings.org_settings_slug, name="org_settings_slug"),
    path("settings/locale/", org_settings.org_settings_locale, name="org_settings_locale"),
    path(
        "settings/idle-timeout/",
        org_settings.org_settings_idle_timeout,
        name="org_settings_idle_timeout",
    ),
    path(
        "settings/super-admin/",
        org_settings.org_super_admin_transfer,
        name="org_super_admin_transfer",
    ),
    # Leaving and deleting the organisation (ORG-4)
    path("leave/", organization.org_leave, name="org_leave"),
    path("delete/", organization.org_delete, name="org_delete"),
]
