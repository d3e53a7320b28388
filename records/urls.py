"""Everything under /o/<org_slug>/ that belongs to records (included by crm_portal/urls.py)."""

from django.urls import path

from .views import api_tokens, autocomplete, contact_imports, fields, notes, records

urlpatterns = [
    # Contacts and accounts (REC-2)
    path("contacts/bulk/", records.contacts_bulk_update, name="contacts_bulk_update"),
    path("contacts/", records.contact_list, name="contact_list"),
    path("contacts/new/", records.contact_create, name="contact_create"),
    path("contacts/<int:contact_pk>/", records.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_pk>/edit/", records.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_pk>/delete/", records.contact_delete, name="contact_delete"),
    path("accounts/", records.account_list, name="account_list"),
    path("accounts/new/", records.account_create, name="account_create"),
    path("accounts/<int:account_pk>/", records.account_detail, name="account_detail"),
    path("accounts/<int:account_pk>/edit/", records.account_edit, name="account_edit"),
    path("accounts/<int:account_pk>/delete/", records.account_delete, name="account_delete"),
    # Notes and attachments on a record (POR-7)
    path("contacts/<int:contact_pk>/notes/", notes.contact_note_add, name="contact_note_add"),
    path("accounts/<int:account_pk>/notes/", notes.account_note_add, name="account_note_add"),
    path(
        "contacts/<int:contact_pk>/attachments/<int:att_pk>/",
        notes.contact_attachment,
        name="contact_attachment",
    ),
    path(
        "accounts/<int:account_pk>/attachments/<int:att_pk>/",
        notes.account_attachment,
        name="account_attachment",
    ),
    # The bounded pickers' searches (issue 21)
    path("autocomplete/members/", autocomplete.autocomplete_members, name="autocomplete_members"),
    path(
        "autocomplete/accounts/", autocomplete.autocomplete_accounts, name="autocomplete_accounts"
    ),
    path(
        "autocomplete/territories/",
        autocomplete.autocomplete_territories,
        name="autocomplete_territories",
    ),
    path(
        "autocomplete/countries/",
        autocomplete.autocomplete_countries,
        name="autocomplete_countries",
    ),
    # The contact import wizard (IMP-1 … IMP-7, REC-3)
    path("contacts/import/", contact_imports.contact_import_upload, name="contact_import_upload"),
    path(
        "contacts/import/history/",
        contact_imports.contact_import_history,
        name="contact_import_history",
    ),
    path(
        "contacts/import/sample.<str:fmt>",
        contact_imports.contact_import_sample,
        name="contact_import_sample",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/",
        contact_imports.contact_import_detail,
        name="contact_import_detail",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/options/",
        contact_imports.contact_import_options,
        name="contact_import_options",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/columns/",
        contact_imports.contact_import_mapping,
        name="contact_import_mapping",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/preview/",
        contact_imports.contact_import_preview,
        name="contact_import_preview",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/progress/",
        contact_imports.contact_import_progress,
        name="contact_import_progress",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/resume/",
        contact_imports.contact_import_resume,
        name="contact_import_resume",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/failed.<str:fmt>",
        contact_imports.contact_import_failed_rows,
        name="contact_import_failed_rows",
    ),
    # Custom fields and the field layout (REC-1)
    path("settings/fields/", fields.custom_field_list, name="custom_field_list"),
    path(
        "settings/fields/<slug:module>/new/",
        fields.custom_field_create,
        name="custom_field_create",
    ),
    path(
        "settings/fields/<slug:module>/<int:field_pk>/edit/",
        fields.custom_field_edit,
        name="custom_field_edit",
    ),
    path(
        "settings/fields/<slug:module>/<int:field_pk>/delete/",
        fields.custom_field_delete,
        name="custom_field_delete",
    ),
    path("settings/fields/<slug:module>/layout/", fields.field_layout, name="field_layout"),
    # API tokens (REC-4)
    path("settings/api-tokens/", api_tokens.api_token_list, name="api_token_list"),
    path("settings/api-tokens/new/", api_tokens.api_token_create, name="api_token_create"),
    path(
        "settings/api-tokens/<int:token_pk>/revoke/",
        api_tokens.api_token_revoke,
        name="api_token_revoke",
    ),
]
