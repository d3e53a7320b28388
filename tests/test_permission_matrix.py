"""The permission matrix: who may open which page under /o/<org_slug>/ (USR-1, USR-3, and
DESIGN: Tenancy), written out as one table, as pretix's control/test_permissions.py does.

Each row of MATRIX is (URL name, who, status on GET, status on POST or None). The POST column
is filled where the write matters: for every route that takes POST, the person without the
permission gets 403 there too, and on a POST-only route (GET answers 405) the person with the
permission gets through. A POST sends no form data, and every row runs in an org of its own,
so what a POST changes touches no other row.

Every route under /o/<org_slug>/ has rows for anonymous (sent to sign in), an outsider (404)
and the members inside; a new route fails `test_every_tenant_route_has_rows` until it has its
rows. URL keywords are filled with objects of the org made by tests/tenant_walk.py's makers.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from records.models import Account, Contact, ContactImport
from tests.conftest import client_for
from tests.tenant_walk import OBJECT_MAKERS, tenant_url_names
from tests.users.factories import CrmUserFactory, OrganizationFactory, builtin_profile
from users import permissions
from users.models import Profile

# Who asks. Every member below is an active member of the org whose page it is, with the role
# Manager unless said otherwise.
ANONYMOUS = "anonymous"  # not signed in
OUTSIDER = "outsider"  # the super admin of another org
READER = "reader"  # a custom profile with no permission at all
CONTACT_CREATOR = "contact_creator"  # a custom profile with only "contacts: create"
STANDARD = "standard"  # the built-in Standard profile: create, edit, delete records
USER_MANAGER = "user_manager"  # a custom profile with only Manage Users
ADMIN = "admin"  # the built-in Administrator profile, not the super admin
SUPER_ADMIN = "super_admin"  # the org's super admin (CEO)
PORTAL_MANAGER = "portal_manager"  # a custom profile with only Manage Portals
PORTAL_USER_MANAGER = "portal_user_manager"  # a custom profile with only Manage Portal Users

CUSTOM_PROFILES = {
    READER: [],
    CONTACT_CREATOR: [permissions.record_permission("contacts", "create")],
    USER_MANAGER: [permissions.MANAGE_USERS],
    PORTAL_MANAGER: [permissions.MANAGE_PORTALS],
    PORTAL_USER_MANAGER: [permissions.MANAGE_PORTAL_USERS],
}

# (URL name, who, GET status, POST status or None: not asked)
MATRIX = [
    # --- The dashboard and a member's own pages: every member, so no 403 row ---------------
    ("dashboard", ANONYMOUS, 302, 302),
    ("dashboard", OUTSIDER, 404, 404),
    ("dashboard", READER, 200, None),
    ("my_details", ANONYMOUS, 302, 302),
    ("my_details", OUTSIDER, 404, 404),
    ("my_details", READER, 200, None),
    ("details_date_formats", ANONYMOUS, 302, 302),
    ("details_date_formats", OUTSIDER, 404, 404),
    ("details_date_formats", READER, 200, None),
    ("org_leave", ANONYMOUS, 302, 302),
    ("org_leave", OUTSIDER, 404, 404),
    ("org_leave", READER, 405, 302),
    # --- Super admin only (ORG-1, ORG-4, ORG-7): an Administrator is not enough ------------
    ("org_delete", ANONYMOUS, 302, 302),
    ("org_delete", OUTSIDER, 404, 404),
    ("org_delete", ADMIN, 403, 403),
    ("org_delete", SUPER_ADMIN, 200, None),
    ("org_super_admin_transfer", ANONYMOUS, 302, 302),
    ("org_super_admin_transfer", OUTSIDER, 404, 404),
    ("org_super_admin_transfer", USER_MANAGER, 403, 403),
    ("org_super_admin_transfer", ADMIN, 403, 403),
    ("org_super_admin_transfer", SUPER_ADMIN, 200, 200),
    # --- The organisation settings (ORG-7, X-3; issue 11): administrators ------------------
    # Manage Users alone is not enough. A section's POST without data shows its errors (200).
    ("org_settings", ANONYMOUS, 302, 302),
    ("org_settings", OUTSIDER, 404, 404),
    ("org_settings", READER, 403, 403),
    ("org_settings", USER_MANAGER, 403, 403),
    ("org_settings", ADMIN, 200, None),
    ("org_settings", SUPER_ADMIN, 200, None),
    ("org_settings_name", ANONYMOUS, 302, 302),
    ("org_settings_name", OUTSIDER, 404, 404),
    ("org_settings_name", USER_MANAGER, 403, 403),
    ("org_settings_name", ADMIN, 405, 200),
    ("org_settings_slug", ANONYMOUS, 302, 302),
    ("org_settings_slug", OUTSIDER, 404, 404),
    ("org_settings_slug", USER_MANAGER, 403, 403),
    ("org_settings_slug", ADMIN, 405, 200),
    ("org_settings_locale", ANONYMOUS, 302, 302),
    ("org_settings_locale", OUTSIDER, 404, 404),
    ("org_settings_locale", USER_MANAGER, 403, 403),
    ("org_settings_locale", ADMIN, 405, 200),
    ("org_settings_idle_timeout", ANONYMOUS, 302, 302),
    ("org_settings_idle_timeout", OUTSIDER, 404, 404),
    ("org_settings_idle_timeout", USER_MANAGER, 403, 403),
    ("org_settings_idle_timeout", ADMIN, 405, 302),
    # --- Users (USR-3 … USR-7): administrators and Manage Users -----------------------------
    ("user_list", ANONYMOUS, 302, 302),
    ("user_list", OUTSIDER, 404, 404),
    ("user_list", STANDARD, 403, None),
    ("user_list", USER_MANAGER, 200, None),
    ("user_list", ADMIN, 200, None),
    ("user_add", ANONYMOUS, 302, 302),
    ("user_add", OUTSIDER, 404, 404),
    ("user_add", STANDARD, 403, 403),
    ("user_add", USER_MANAGER, 200, None),
    ("user_add", ADMIN, 200, None),
    ("users_reinvite_selected", ANONYMOUS, 302, 302),
    ("users_reinvite_selected", OUTSIDER, 404, 404),
    ("users_reinvite_selected", STANDARD, 403, 403),
    ("users_reinvite_selected", USER_MANAGER, 405, 302),
    ("users_reinvite_held", ANONYMOUS, 302, 302),
    ("users_reinvite_held", OUTSIDER, 404, 404),
    ("users_reinvite_held", STANDARD, 403, 403),
    ("users_reinvite_held", USER_MANAGER, 405, 302),
    ("user_detail", ANONYMOUS, 302, 302),
    ("user_detail", OUTSIDER, 404, 404),
    ("user_detail", STANDARD, 403, None),
    ("user_detail", USER_MANAGER, 200, None),
    ("user_access_edit", ANONYMOUS, 302, 302),
    ("user_access_edit", OUTSIDER, 404, 404),
    ("user_access_edit", STANDARD, 403, 403),
    ("user_access_edit", USER_MANAGER, 200, None),
    ("user_reinvite", ANONYMOUS, 302, 302),
    ("user_reinvite", OUTSIDER, 404, 404),
    ("user_reinvite", STANDARD, 403, 403),
    ("user_reinvite", USER_MANAGER, 405, 302),
    ("user_deactivate", ANONYMOUS, 302, 302),
    ("user_deactivate", OUTSIDER, 404, 404),
    ("user_deactivate", STANDARD, 403, 403),
    ("user_deactivate", USER_MANAGER, 200, None),
    ("user_activate", ANONYMOUS, 302, 302),
    ("user_activate", OUTSIDER, 404, 404),
    ("user_activate", STANDARD, 403, 403),
    ("user_activate", USER_MANAGER, 405, 302),
    ("user_delete", ANONYMOUS, 302, 302),
    ("user_delete", OUTSIDER, 404, 404),
    ("user_delete", STANDARD, 403, 403),
    ("user_delete", USER_MANAGER, 200, None),
    # USR-6: someone else's details need Manage Users; one's own are under my_details.
    ("user_details_edit", ANONYMOUS, 302, 302),
    ("user_details_edit", OUTSIDER, 404, 404),
    ("user_details_edit", STANDARD, 403, 403),
    ("user_details_edit", USER_MANAGER, 200, None),
    # --- User import (IMP-1 … IMP-7, USR-3): administrators and Manage Users ---------------
    # The made import has finished: its wizard steps lead on to its result (302).
    ("user_import_upload", ANONYMOUS, 302, 302),
    ("user_import_upload", OUTSIDER, 404, 404),
    ("user_import_upload", STANDARD, 403, 403),
    ("user_import_upload", USER_MANAGER, 200, None),
    ("user_import_upload", ADMIN, 200, None),
    ("user_import_history", ANONYMOUS, 302, 302),
    ("user_import_history", OUTSIDER, 404, 404),
    ("user_import_history", STANDARD, 403, None),
    ("user_import_history", USER_MANAGER, 200, None),
    ("user_import_sample", ANONYMOUS, 302, 302),
    ("user_import_sample", OUTSIDER, 404, 404),
    ("user_import_sample", STANDARD, 403, None),
    ("user_import_sample", USER_MANAGER, 200, None),
    ("user_import_detail", ANONYMOUS, 302, 302),
    ("user_import_detail", OUTSIDER, 404, 404),
    ("user_import_detail", STANDARD, 403, None),
    ("user_import_detail", USER_MANAGER, 200, None),
    ("user_import_options", ANONYMOUS, 302, 302),
    ("user_import_options", OUTSIDER, 404, 404),
    ("user_import_options", STANDARD, 403, 403),
    ("user_import_options", USER_MANAGER, 302, None),
    ("user_import_mapping", ANONYMOUS, 302, 302),
    ("user_import_mapping", OUTSIDER, 404, 404),
    ("user_import_mapping", STANDARD, 403, 403),
    ("user_import_mapping", USER_MANAGER, 302, None),
    ("user_import_preview", ANONYMOUS, 302, 302),
    ("user_import_preview", OUTSIDER, 404, 404),
    ("user_import_preview", STANDARD, 403, 403),
    ("user_import_preview", USER_MANAGER, 302, None),
    ("user_import_progress", ANONYMOUS, 302, 302),
    ("user_import_progress", OUTSIDER, 404, 404),
    ("user_import_progress", STANDARD, 403, None),
    ("user_import_progress", USER_MANAGER, 200, None),
    ("user_import_resume", ANONYMOUS, 302, 302),
    ("user_import_resume", OUTSIDER, 404, 404),
    ("user_import_resume", STANDARD, 403, 403),
    ("user_import_resume", USER_MANAGER, 405, 302),
    ("user_import_failed_rows", ANONYMOUS, 302, 302),
    ("user_import_failed_rows", OUTSIDER, 404, 404),
    ("user_import_failed_rows", STANDARD, 403, None),
    ("user_import_failed_rows", USER_MANAGER, 200, None),
    ("user_import_reinvite", ANONYMOUS, 302, 302),
    ("user_import_reinvite", OUTSIDER, 404, 404),
    ("user_import_reinvite", STANDARD, 403, 403),
    ("user_import_reinvite", USER_MANAGER, 405, 302),
    # --- Profiles, roles, territories (USR-1, USR-2, USR-8): administrators and Manage Users
    ("profile_list", ANONYMOUS, 302, 302),
    ("profile_list", OUTSIDER, 404, 404),
    ("profile_list", STANDARD, 403, None),
    ("profile_list", USER_MANAGER, 200, None),
    ("profile_create", ANONYMOUS, 302, 302),
    ("profile_create", OUTSIDER, 404, 404),
    ("profile_create", STANDARD, 403, 403),
    ("profile_create", USER_MANAGER, 200, None),
    ("profile_edit", ANONYMOUS, 302, 302),
    ("profile_edit", OUTSIDER, 404, 404),
    ("profile_edit", STANDARD, 403, 403),
    ("profile_edit", USER_MANAGER, 200, None),
    ("profile_delete", ANONYMOUS, 302, 302),
    ("profile_delete", OUTSIDER, 404, 404),
    ("profile_delete", STANDARD, 403, 403),
    ("profile_delete", USER_MANAGER, 200, None),
    ("role_list", ANONYMOUS, 302, 302),
    ("role_list", OUTSIDER, 404, 404),
    ("role_list", STANDARD, 403, None),
    ("role_list", USER_MANAGER, 200, None),
    ("role_create", ANONYMOUS, 302, 302),
    ("role_create", OUTSIDER, 404, 404),
    ("role_create", STANDARD, 403, 403),
    ("role_create", USER_MANAGER, 200, None),
    ("role_edit", ANONYMOUS, 302, 302),
    ("role_edit", OUTSIDER, 404, 404),
    ("role_edit", STANDARD, 403, 403),
    ("role_edit", USER_MANAGER, 200, None),
    ("role_delete", ANONYMOUS, 302, 302),
    ("role_delete", OUTSIDER, 404, 404),
    ("role_delete", STANDARD, 403, 403),
    ("role_delete", USER_MANAGER, 200, None),
    ("territory_list", ANONYMOUS, 302, 302),
    ("territory_list", OUTSIDER, 404, 404),
    ("territory_list", STANDARD, 403, None),
    ("territory_list", USER_MANAGER, 200, None),
    ("territories_toggle", ANONYMOUS, 302, 302),
    ("territories_toggle", OUTSIDER, 404, 404),
    ("territories_toggle", STANDARD, 403, 403),
    ("territories_toggle", USER_MANAGER, 405, 302),
    ("territory_create", ANONYMOUS, 302, 302),
    ("territory_create", OUTSIDER, 404, 404),
    ("territory_create", STANDARD, 403, 403),
    ("territory_create", USER_MANAGER, 200, None),
    ("territory_edit", ANONYMOUS, 302, 302),
    ("territory_edit", OUTSIDER, 404, 404),
    ("territory_edit", STANDARD, 403, 403),
    ("territory_edit", USER_MANAGER, 200, None),
    ("territory_delete", ANONYMOUS, 302, 302),
    ("territory_delete", OUTSIDER, 404, 404),
    ("territory_delete", STANDARD, 403, 403),
    ("territory_delete", USER_MANAGER, 200, None),
    # --- The audit log (USR-9): administrators and Manage Users ------------------------------
    ("audit_log", ANONYMOUS, 302, 302),
    ("audit_log", OUTSIDER, 404, 404),
    ("audit_log", STANDARD, 403, None),
    ("audit_log", USER_MANAGER, 200, None),
    ("audit_log_export", ANONYMOUS, 302, 302),
    ("audit_log_export", OUTSIDER, 404, 404),
    ("audit_log_export", STANDARD, 403, None),
    ("audit_log_export", USER_MANAGER, 200, None),
    # --- A member's own mail settings (MAIL-5): every member. A POST without data shows the
    # form's errors; "sync now" without a mailbox goes back to the settings with a message.
    ("mail_settings", ANONYMOUS, 302, 302),
    ("mail_settings", OUTSIDER, 404, 404),
    ("mail_settings", READER, 200, 200),
    ("mail_sync_now", ANONYMOUS, 302, 302),
    ("mail_sync_now", OUTSIDER, 404, 404),
    ("mail_sync_now", READER, 405, 302),
    ("mail_message", ANONYMOUS, 302, 302),
    ("mail_message", OUTSIDER, 404, 404),
    ("mail_message", READER, 200, None),
    # MAIL-5: an attachment of that message, for whoever may read it; downloads only.
    ("mail_message_attachment", ANONYMOUS, 302, 302),
    ("mail_message_attachment", OUTSIDER, 404, 404),
    ("mail_message_attachment", READER, 200, 405),
    # MAIL-5: sending from a contact's page, for whoever sees the contact; a POST without
    # data shows the form's errors.
    ("mail_contact_send", ANONYMOUS, 302, 302),
    ("mail_contact_send", OUTSIDER, 404, 404),
    ("mail_contact_send", READER, 200, 200),
    # --- The mail add-on's admin page and lock / unlock (MAIL-1, MAIL-3): administrators --
    # Manage Users alone is not enough. The made mailbox is another user's, sharing
    # record-level: an administrator's POST locks (unlocks) it and goes back to the list.
    ("mail_user_list", ANONYMOUS, 302, 302),
    ("mail_user_list", OUTSIDER, 404, 404),
    ("mail_user_list", USER_MANAGER, 403, None),
    ("mail_user_list", ADMIN, 200, None),
    ("mail_user_lock", ANONYMOUS, 302, 302),
    ("mail_user_lock", OUTSIDER, 404, 404),
    ("mail_user_lock", USER_MANAGER, 403, 403),
    ("mail_user_lock", ADMIN, 200, 302),
    ("mail_user_unlock", ANONYMOUS, 302, 302),
    ("mail_user_unlock", OUTSIDER, 404, 404),
    ("mail_user_unlock", USER_MANAGER, 403, 403),
    ("mail_user_unlock", ADMIN, 200, 302),
    # MAIL-2: the made mailbox's user is active, so the backup is refused on the page (200).
    ("mail_user_backup", ANONYMOUS, 302, 302),
    ("mail_user_backup", OUTSIDER, 404, 404),
    ("mail_user_backup", USER_MANAGER, 403, 403),
    ("mail_user_backup", ADMIN, 200, 200),
    # --- Custom fields and their layout (REC-1): the Administrator profile only -------------
    # Manage Users alone is not enough.
    ("custom_field_list", ANONYMOUS, 302, 302),
    ("custom_field_list", OUTSIDER, 404, 404),
    ("custom_field_list", USER_MANAGER, 403, None),
    ("custom_field_list", ADMIN, 200, None),
    ("custom_field_create", ANONYMOUS, 302, 302),
    ("custom_field_create", OUTSIDER, 404, 404),
    ("custom_field_create", USER_MANAGER, 403, 403),
    ("custom_field_create", ADMIN, 200, None),
    ("custom_field_edit", ANONYMOUS, 302, 302),
    ("custom_field_edit", OUTSIDER, 404, 404),
    ("custom_field_edit", USER_MANAGER, 403, 403),
    ("custom_field_edit", ADMIN, 200, None),
    ("custom_field_delete", ANONYMOUS, 302, 302),
    ("custom_field_delete", OUTSIDER, 404, 404),
    ("custom_field_delete", USER_MANAGER, 403, 403),
    ("custom_field_delete", ADMIN, 200, None),
    ("field_layout", ANONYMOUS, 302, 302),
    ("field_layout", OUTSIDER, 404, 404),
    ("field_layout", USER_MANAGER, 403, 403),
    ("field_layout", ADMIN, 200, None),
    # --- API tokens (REC-4): the Administrator profile only ----------------------------------
    ("api_token_list", ANONYMOUS, 302, 302),
    ("api_token_list", OUTSIDER, 404, 404),
    ("api_token_list", USER_MANAGER, 403, None),
    ("api_token_list", ADMIN, 200, None),
    ("api_token_create", ANONYMOUS, 302, 302),
    ("api_token_create", OUTSIDER, 404, 404),
    ("api_token_create", USER_MANAGER, 403, 403),
    ("api_token_create", ADMIN, 200, None),
    ("api_token_revoke", ANONYMOUS, 302, 302),
    ("api_token_revoke", OUTSIDER, 404, 404),
    ("api_token_revoke", USER_MANAGER, 403, 403),
    ("api_token_revoke", ADMIN, 200, None),
    # --- Portals and their user groups (POR-1, POR-2): Manage Portals changes them; Manage
    # Portal Users sees the portals read-only (to reach their Users tab), not the groups.
    ("portal_list", ANONYMOUS, 302, 302),
    ("portal_list", OUTSIDER, 404, 404),
    ("portal_list", STANDARD, 403, None),
    ("portal_list", PORTAL_USER_MANAGER, 200, None),
    ("portal_list", PORTAL_MANAGER, 200, None),
    ("portal_detail", ANONYMOUS, 302, 302),
    ("portal_detail", OUTSIDER, 404, 404),
    ("portal_detail", STANDARD, 403, None),
    ("portal_detail", PORTAL_USER_MANAGER, 200, None),
    ("portal_detail", PORTAL_MANAGER, 200, None),
    ("portal_logo", ANONYMOUS, 302, 302),
    ("portal_logo", OUTSIDER, 404, 404),
    ("portal_logo", STANDARD, 403, None),
    ("portal_logo", PORTAL_USER_MANAGER, 204, None),
    ("portal_logo", PORTAL_MANAGER, 204, None),
    ("portal_create", ANONYMOUS, 302, 302),
    ("portal_create", OUTSIDER, 404, 404),
    ("portal_create", STANDARD, 403, 403),
    ("portal_create", PORTAL_USER_MANAGER, 403, 403),
    ("portal_create", PORTAL_MANAGER, 200, 200),
    ("portal_edit", ANONYMOUS, 302, 302),
    ("portal_edit", OUTSIDER, 404, 404),
    ("portal_edit", STANDARD, 403, 403),
    ("portal_edit", PORTAL_USER_MANAGER, 403, 403),
    ("portal_edit", PORTAL_MANAGER, 200, 200),
    ("portal_toggle", ANONYMOUS, 302, 302),
    ("portal_toggle", OUTSIDER, 404, 404),
    ("portal_toggle", STANDARD, 403, 403),
    ("portal_toggle", PORTAL_USER_MANAGER, 403, 403),
    ("portal_toggle", PORTAL_MANAGER, 200, 302),
    ("portal_delete", ANONYMOUS, 302, 302),
    ("portal_delete", OUTSIDER, 404, 404),
    ("portal_delete", STANDARD, 403, 403),
    ("portal_delete", PORTAL_USER_MANAGER, 403, 403),
    ("portal_delete", PORTAL_MANAGER, 200, 302),
    ("usergroup_list", ANONYMOUS, 302, 302),
    ("usergroup_list", OUTSIDER, 404, 404),
    ("usergroup_list", STANDARD, 403, None),
    ("usergroup_list", PORTAL_USER_MANAGER, 403, None),
    ("usergroup_list", PORTAL_MANAGER, 200, None),
    ("usergroup_create", ANONYMOUS, 302, 302),
    ("usergroup_create", OUTSIDER, 404, 404),
    ("usergroup_create", STANDARD, 403, 403),
    ("usergroup_create", PORTAL_USER_MANAGER, 403, 403),
    ("usergroup_create", PORTAL_MANAGER, 200, 200),
    ("usergroup_edit", ANONYMOUS, 302, 302),
    ("usergroup_edit", OUTSIDER, 404, 404),
    ("usergroup_edit", STANDARD, 403, 403),
    ("usergroup_edit", PORTAL_USER_MANAGER, 403, 403),
    ("usergroup_edit", PORTAL_MANAGER, 200, 200),
    ("usergroup_delete", ANONYMOUS, 302, 302),
    ("usergroup_delete", OUTSIDER, 404, 404),
    ("usergroup_delete", STANDARD, 403, 403),
    ("usergroup_delete", PORTAL_USER_MANAGER, 403, 403),
    ("usergroup_delete", PORTAL_MANAGER, 200, 302),
    # --- Contacts and accounts (REC-2, USR-1): every member reads what their role shows
    # (USR-2; here, records they own); create, edit and delete follow the profile, per module.
    # --- The bounded pickers' searches (issue 21): every member for owners, accounts (USR-2
    # scoped) and countries; territories for those who assign them (USR-3, USR-8).
    ("autocomplete_members", ANONYMOUS, 302, 302),
    ("autocomplete_members", OUTSIDER, 404, 404),
    ("autocomplete_members", READER, 200, 405),
    ("autocomplete_accounts", ANONYMOUS, 302, 302),
    ("autocomplete_accounts", OUTSIDER, 404, 404),
    ("autocomplete_accounts", READER, 200, 405),
    ("autocomplete_countries", ANONYMOUS, 302, 302),
    ("autocomplete_countries", OUTSIDER, 404, 404),
    ("autocomplete_countries", READER, 200, 405),
    ("autocomplete_territories", ANONYMOUS, 302, 302),
    ("autocomplete_territories", OUTSIDER, 404, 404),
    ("autocomplete_territories", STANDARD, 403, 403),
    ("autocomplete_territories", USER_MANAGER, 200, 405),
    ("contact_list", ANONYMOUS, 302, 302),
    ("contact_list", OUTSIDER, 404, 404),
    ("contact_list", READER, 200, None),
    ("contact_detail", ANONYMOUS, 302, 302),
    ("contact_detail", OUTSIDER, 404, 404),
    ("contact_detail", READER, 200, None),
    ("contact_create", ANONYMOUS, 302, 302),
    ("contact_create", OUTSIDER, 404, 404),
    ("contact_create", READER, 403, 403),
    ("contact_create", CONTACT_CREATOR, 200, None),
    ("contact_create", STANDARD, 200, None),
    ("contact_edit", ANONYMOUS, 302, 302),
    ("contact_edit", OUTSIDER, 404, 404),
    ("contact_edit", READER, 403, 403),
    ("contact_edit", CONTACT_CREATOR, 403, 403),
    ("contact_edit", STANDARD, 200, None),
    ("contact_delete", ANONYMOUS, 302, 302),
    ("contact_delete", OUTSIDER, 404, 404),
    ("contact_delete", READER, 403, 403),
    ("contact_delete", STANDARD, 200, None),
    ("contacts_bulk_update", ANONYMOUS, 302, 302),
    ("contacts_bulk_update", OUTSIDER, 404, 404),
    ("contacts_bulk_update", READER, 405, 403),
    ("contacts_bulk_update", STANDARD, 405, 302),
    ("account_list", ANONYMOUS, 302, 302),
    ("account_list", OUTSIDER, 404, 404),
    ("account_list", READER, 200, None),
    ("account_detail", ANONYMOUS, 302, 302),
    ("account_detail", OUTSIDER, 404, 404),
    ("account_detail", READER, 200, None),
    ("account_create", ANONYMOUS, 302, 302),
    ("account_create", OUTSIDER, 404, 404),
    ("account_create", READER, 403, 403),
    ("account_create", CONTACT_CREATOR, 403, 403),
    ("account_create", STANDARD, 200, None),
    ("account_edit", ANONYMOUS, 302, 302),
    ("account_edit", OUTSIDER, 404, 404),
    ("account_edit", READER, 403, 403),
    ("account_edit", STANDARD, 200, None),
    ("account_delete", ANONYMOUS, 302, 302),
    ("account_delete", OUTSIDER, 404, 404),
    ("account_delete", READER, 403, 403),
    ("account_delete", STANDARD, 200, None),
    # --- Contact import (IMP, USR-1): members who may create or edit contacts --------------
    # A member who is not an administrator opens only their own imports (the made one is
    # theirs); it has finished, so its wizard steps lead on to its result (302).
    ("contact_import_upload", ANONYMOUS, 302, 302),
    ("contact_import_upload", OUTSIDER, 404, 404),
    ("contact_import_upload", READER, 403, 403),
    ("contact_import_upload", CONTACT_CREATOR, 200, None),
    ("contact_import_upload", STANDARD, 200, None),
    ("contact_import_history", ANONYMOUS, 302, 302),
    ("contact_import_history", OUTSIDER, 404, 404),
    ("contact_import_history", READER, 403, None),
    ("contact_import_history", STANDARD, 200, None),
    ("contact_import_sample", ANONYMOUS, 302, 302),
    ("contact_import_sample", OUTSIDER, 404, 404),
    ("contact_import_sample", READER, 403, None),
    ("contact_import_sample", STANDARD, 200, None),
    ("contact_import_detail", ANONYMOUS, 302, 302),
    ("contact_import_detail", OUTSIDER, 404, 404),
    ("contact_import_detail", READER, 403, None),
    ("contact_import_detail", STANDARD, 200, None),
    ("contact_import_options", ANONYMOUS, 302, 302),
    ("contact_import_options", OUTSIDER, 404, 404),
    ("contact_import_options", READER, 403, 403),
    ("contact_import_options", STANDARD, 302, None),
    ("contact_import_mapping", ANONYMOUS, 302, 302),
    ("contact_import_mapping", OUTSIDER, 404, 404),
    ("contact_import_mapping", READER, 403, 403),
    ("contact_import_mapping", STANDARD, 302, None),
    ("contact_import_preview", ANONYMOUS, 302, 302),
    ("contact_import_preview", OUTSIDER, 404, 404),
    ("contact_import_preview", READER, 403, 403),
    ("contact_import_preview", STANDARD, 302, None),
    ("contact_import_progress", ANONYMOUS, 302, 302),
    ("contact_import_progress", OUTSIDER, 404, 404),
    ("contact_import_progress", READER, 403, None),
    ("contact_import_progress", STANDARD, 200, None),
    ("contact_import_resume", ANONYMOUS, 302, 302),
    ("contact_import_resume", OUTSIDER, 404, 404),
    ("contact_import_resume", READER, 403, 403),
    ("contact_import_resume", STANDARD, 405, 302),
    ("contact_import_failed_rows", ANONYMOUS, 302, 302),
    ("contact_import_failed_rows", OUTSIDER, 404, 404),
    ("contact_import_failed_rows", READER, 403, None),
    ("contact_import_failed_rows", STANDARD, 200, None),
    # --- Portal users (POR-3, POR-4, POR-8): Manage Portal Users, not Manage Portals --------
    ("portal_user_list", ANONYMOUS, 302, 302),
    ("portal_user_list", OUTSIDER, 404, 404),
    ("portal_user_list", STANDARD, 403, 403),
    ("portal_user_list", PORTAL_MANAGER, 403, 403),
    ("portal_user_list", PORTAL_USER_MANAGER, 200, None),
    ("portal_user_list", ADMIN, 200, None),
    ("portal_user_invite", ANONYMOUS, 302, 302),
    ("portal_user_invite", OUTSIDER, 404, 404),
    ("portal_user_invite", STANDARD, 403, 403),
    ("portal_user_invite", PORTAL_MANAGER, 403, 403),
    ("portal_user_invite", PORTAL_USER_MANAGER, 200, None),
    ("portal_user_invite", ADMIN, 200, None),
    ("portal_users_bulk", ANONYMOUS, 302, 302),
    ("portal_users_bulk", OUTSIDER, 404, 404),
    ("portal_users_bulk", STANDARD, 403, 403),
    ("portal_users_bulk", PORTAL_MANAGER, 403, 403),
    ("portal_users_bulk", PORTAL_USER_MANAGER, 405, 302),
    ("portal_users_bulk", ADMIN, 405, 302),
    # portals (pemailchange): POR-5, "Change email address" (an empty POST: the form's error)
    ("portal_user_email_change", ANONYMOUS, 302, 302),
    ("portal_user_email_change", OUTSIDER, 404, 404),
    ("portal_user_email_change", STANDARD, 403, 403),
    ("portal_user_email_change", PORTAL_MANAGER, 403, 403),
    ("portal_user_email_change", PORTAL_USER_MANAGER, 200, 400),
    ("portal_user_email_change", ADMIN, 200, 400),
    ("contact_portal_invite", ANONYMOUS, 302, 302),
    ("contact_portal_invite", OUTSIDER, 404, 404),
    ("contact_portal_invite", STANDARD, 403, 403),
    ("contact_portal_invite", PORTAL_MANAGER, 403, 403),
    ("contact_portal_invite", PORTAL_USER_MANAGER, 302, 302),
    ("contact_portal_invite", ADMIN, 302, 302),
    ("contacts_portal_invite", ANONYMOUS, 302, 302),
    ("contacts_portal_invite", OUTSIDER, 404, 404),
    ("contacts_portal_invite", STANDARD, 403, 403),
    ("contacts_portal_invite", PORTAL_MANAGER, 403, 403),
    ("contacts_portal_invite", PORTAL_USER_MANAGER, 405, 302),
    ("contacts_portal_invite", ADMIN, 405, 302),
    # --- portals (pprofile; X-2): an admin resets a portal user's two-factor -------------------
    ("portal_user_mfa_reset", ANONYMOUS, 302, 302),
    ("portal_user_mfa_reset", OUTSIDER, 404, 404),
    ("portal_user_mfa_reset", STANDARD, 403, 403),
    ("portal_user_mfa_reset", PORTAL_MANAGER, 403, 403),
    ("portal_user_mfa_reset", PORTAL_USER_MANAGER, 200, 302),
    ("portal_user_mfa_reset", ADMIN, 200, 302),
    # --- Portal email templates (POR-6; pemails): Manage Portals; Manage Users is not enough.
    # An empty POST to the editor or the preview shows the form's errors (200); the test email
    # without form data sends the saved text (302).
    ("email_template_list", ANONYMOUS, 302, 302),
    ("email_template_list", OUTSIDER, 404, 404),
    ("email_template_list", STANDARD, 403, 403),
    ("email_template_list", USER_MANAGER, 403, None),
    ("email_template_list", PORTAL_MANAGER, 200, None),
    ("email_template_list", ADMIN, 200, None),
    ("email_template_edit", ANONYMOUS, 302, 302),
    ("email_template_edit", OUTSIDER, 404, 404),
    ("email_template_edit", STANDARD, 403, 403),
    ("email_template_edit", USER_MANAGER, 403, 403),
    ("email_template_edit", PORTAL_MANAGER, 200, 200),
    ("email_template_edit", ADMIN, 200, None),
    ("email_template_preview", ANONYMOUS, 302, 302),
    ("email_template_preview", OUTSIDER, 404, 404),
    ("email_template_preview", STANDARD, 403, 403),
    ("email_template_preview", PORTAL_MANAGER, 200, 200),
    ("email_template_test", ANONYMOUS, 302, 302),
    ("email_template_test", OUTSIDER, 404, 404),
    ("email_template_test", STANDARD, 403, 403),
    ("email_template_test", PORTAL_MANAGER, 405, 302),
    ("email_template_reset", ANONYMOUS, 302, 302),
    ("email_template_reset", OUTSIDER, 404, 404),
    ("email_template_reset", STANDARD, 403, 403),
    ("email_template_reset", PORTAL_MANAGER, 200, 302),
    # --- pnotes: notes and attachments on a record (POR-7). A note needs the record's edit
    # permission (an empty POST shows the page with the error: 200); a file, seeing it.
    ("contact_note_add", ANONYMOUS, 302, 302),
    ("contact_note_add", OUTSIDER, 404, 404),
    ("contact_note_add", READER, 405, 403),
    ("contact_note_add", STANDARD, 405, 200),
    ("account_note_add", ANONYMOUS, 302, 302),
    ("account_note_add", OUTSIDER, 404, 404),
    ("account_note_add", READER, 405, 403),
    ("account_note_add", STANDARD, 405, 200),
    ("contact_attachment", ANONYMOUS, 302, 302),
    ("contact_attachment", OUTSIDER, 404, 404),
    ("contact_attachment", READER, 200, 405),
    ("account_attachment", ANONYMOUS, 302, 302),
    ("account_attachment", OUTSIDER, 404, 404),
    ("account_attachment", READER, 200, 405),
    # --- auto-invite and failed invitations (AUT-1 … AUT-7): Manage Portals only; a portal
    # without auto-invite settings sends toggle, delete and match back to the settings page.
    ("autoinvite_settings", ANONYMOUS, 302, 302),
    ("autoinvite_settings", OUTSIDER, 404, 404),
    ("autoinvite_settings", STANDARD, 403, 403),
    ("autoinvite_settings", PORTAL_USER_MANAGER, 403, 403),
    ("autoinvite_settings", PORTAL_MANAGER, 200, 200),
    ("autoinvite_builder", ANONYMOUS, 302, 302),
    ("autoinvite_builder", OUTSIDER, 404, 404),
    ("autoinvite_builder", STANDARD, 403, 403),
    ("autoinvite_builder", PORTAL_USER_MANAGER, 403, 403),
    ("autoinvite_builder", PORTAL_MANAGER, 405, 200),
    ("autoinvite_pattern", ANONYMOUS, 302, None),
    ("autoinvite_pattern", OUTSIDER, 404, None),
    ("autoinvite_pattern", STANDARD, 403, None),
    ("autoinvite_pattern", PORTAL_USER_MANAGER, 403, None),
    ("autoinvite_pattern", PORTAL_MANAGER, 200, None),
    ("autoinvite_toggle", ANONYMOUS, 302, 302),
    ("autoinvite_toggle", OUTSIDER, 404, 404),
    ("autoinvite_toggle", STANDARD, 403, 403),
    ("autoinvite_toggle", PORTAL_USER_MANAGER, 403, 403),
    ("autoinvite_toggle", PORTAL_MANAGER, 405, 302),
    ("autoinvite_delete", ANONYMOUS, 302, 302),
    ("autoinvite_delete", OUTSIDER, 404, 404),
    ("autoinvite_delete", STANDARD, 403, 403),
    ("autoinvite_delete", PORTAL_USER_MANAGER, 403, 403),
    ("autoinvite_delete", PORTAL_MANAGER, 302, 302),
    ("autoinvite_match", ANONYMOUS, 302, 302),
    ("autoinvite_match", OUTSIDER, 404, 404),
    ("autoinvite_match", STANDARD, 403, 403),
    ("autoinvite_match", PORTAL_USER_MANAGER, 403, 403),
    ("autoinvite_match", PORTAL_MANAGER, 302, 302),
    ("autoinvite_match_status", ANONYMOUS, 302, None),
    ("autoinvite_match_status", OUTSIDER, 404, None),
    ("autoinvite_match_status", STANDARD, 403, None),
    ("autoinvite_match_status", PORTAL_USER_MANAGER, 403, None),
    ("autoinvite_match_status", PORTAL_MANAGER, 200, None),
    ("failed_invitation_list", ANONYMOUS, 302, None),
    ("failed_invitation_list", OUTSIDER, 404, None),
    ("failed_invitation_list", STANDARD, 403, None),
    ("failed_invitation_list", PORTAL_USER_MANAGER, 403, None),
    ("failed_invitation_list", PORTAL_MANAGER, 200, None),
    ("failed_invitation_export", ANONYMOUS, 302, None),
    ("failed_invitation_export", OUTSIDER, 404, None),
    ("failed_invitation_export", STANDARD, 403, None),
    ("failed_invitation_export", PORTAL_USER_MANAGER, 403, None),
    ("failed_invitation_export", PORTAL_MANAGER, 200, None),
    ("failed_invitation_retry", ANONYMOUS, 302, 302),
    ("failed_invitation_retry", OUTSIDER, 404, 404),
    ("failed_invitation_retry", STANDARD, 403, 403),
    ("failed_invitation_retry", PORTAL_USER_MANAGER, 403, 403),
    ("failed_invitation_retry", PORTAL_MANAGER, 405, 302),
    # --- The Campaigns area (issue 15): a member of the org's Campaigns team, an admin for
    # the team pages. The first CRM administrator to come in starts the team as its Standard
    # Admin; other CRM members without a place in the team get 403.
    ("campaigns_home", ANONYMOUS, 302, 302),
    ("campaigns_home", OUTSIDER, 404, 404),
    ("campaigns_home", READER, 403, 403),
    ("campaigns_home", STANDARD, 403, 403),
    ("campaigns_home", SUPER_ADMIN, 200, 405),
    ("campaigns_leave", ANONYMOUS, 302, 302),
    ("campaigns_leave", OUTSIDER, 404, 404),
    ("campaigns_leave", READER, 403, 403),
    ("campaigns_leave", STANDARD, 403, 403),
    ("campaigns_leave", SUPER_ADMIN, 200, 302),
    ("campaigns_members", ANONYMOUS, 302, 302),
    ("campaigns_members", OUTSIDER, 404, 404),
    ("campaigns_members", READER, 403, 403),
    ("campaigns_members", STANDARD, 403, 403),
    ("campaigns_members", SUPER_ADMIN, 200, 405),
    ("campaigns_member_invite", ANONYMOUS, 302, 302),
    ("campaigns_member_invite", OUTSIDER, 404, 404),
    ("campaigns_member_invite", READER, 403, 403),
    ("campaigns_member_invite", STANDARD, 403, 403),
    ("campaigns_member_invite", SUPER_ADMIN, 200, 200),
    ("campaigns_member_resend", ANONYMOUS, 302, 302),
    ("campaigns_member_resend", OUTSIDER, 404, 404),
    ("campaigns_member_resend", READER, 403, 403),
    ("campaigns_member_resend", STANDARD, 403, 403),
    ("campaigns_member_resend", SUPER_ADMIN, 200, 302),
    ("campaigns_member_deactivate", ANONYMOUS, 302, 302),
    ("campaigns_member_deactivate", OUTSIDER, 404, 404),
    ("campaigns_member_deactivate", READER, 403, 403),
    ("campaigns_member_deactivate", STANDARD, 403, 403),
    ("campaigns_member_deactivate", SUPER_ADMIN, 200, 302),
    ("campaigns_member_reactivate", ANONYMOUS, 302, 302),
    ("campaigns_member_reactivate", OUTSIDER, 404, 404),
    ("campaigns_member_reactivate", READER, 403, 403),
    ("campaigns_member_reactivate", STANDARD, 403, 403),
    ("campaigns_member_reactivate", SUPER_ADMIN, 200, 302),
    ("campaigns_member_remove", ANONYMOUS, 302, 302),
    ("campaigns_member_remove", OUTSIDER, 404, 404),
    ("campaigns_member_remove", READER, 403, 403),
    ("campaigns_member_remove", STANDARD, 403, 403),
    ("campaigns_member_remove", SUPER_ADMIN, 200, 302),
    ("campaigns_member_retarget", ANONYMOUS, 302, 302),
    ("campaigns_member_retarget", OUTSIDER, 404, 404),
    ("campaigns_member_retarget", READER, 403, 403),
    ("campaigns_member_retarget", STANDARD, 403, 403),
    ("campaigns_member_retarget", SUPER_ADMIN, 200, 200),
    ("campaigns_member_role", ANONYMOUS, 302, 302),
    ("campaigns_member_role", OUTSIDER, 404, 404),
    ("campaigns_member_role", READER, 403, 403),
    ("campaigns_member_role", STANDARD, 403, 403),
    ("campaigns_member_role", SUPER_ADMIN, 200, 200),
    ("campaigns_roles", ANONYMOUS, 302, 302),
    ("campaigns_roles", OUTSIDER, 404, 404),
    ("campaigns_roles", READER, 403, 403),
    ("campaigns_roles", STANDARD, 403, 403),
    ("campaigns_roles", SUPER_ADMIN, 200, 200),
    ("campaigns_role_delete", ANONYMOUS, 302, 302),
    ("campaigns_role_delete", OUTSIDER, 404, 404),
    ("campaigns_role_delete", READER, 403, 403),
    ("campaigns_role_delete", STANDARD, 403, 403),
    ("campaigns_role_delete", SUPER_ADMIN, 200, 302),
    ("campaigns_account_delete", ANONYMOUS, 302, 302),
    ("campaigns_account_delete", OUTSIDER, 404, 404),
    ("campaigns_account_delete", READER, 403, 403),
    ("campaigns_account_delete", STANDARD, 403, 403),
    ("campaigns_account_delete", SUPER_ADMIN, 200, 302),
    ("campaigns_senders", ANONYMOUS, 302, 302),
    ("campaigns_senders", OUTSIDER, 404, 404),
    ("campaigns_senders", READER, 403, 403),
    ("campaigns_senders", STANDARD, 403, 403),
    ("campaigns_senders", SUPER_ADMIN, 200, 200),
    ("campaigns_sender_delete", ANONYMOUS, 302, 302),
    ("campaigns_sender_delete", OUTSIDER, 404, 404),
    ("campaigns_sender_delete", READER, 403, 403),
    ("campaigns_sender_delete", STANDARD, 403, 403),
    ("campaigns_sender_delete", SUPER_ADMIN, 200, 302),
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Attachments made for the rows (POR-7) go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path


TENANT_URLS = tenant_url_names()
MEMBERS = {
    READER,
    CONTACT_CREATOR,
    STANDARD,
    USER_MANAGER,
    PORTAL_MANAGER,
    PORTAL_USER_MANAGER,
    ADMIN,
    SUPER_ADMIN,
}


def _rows(*people):
    rows = [row for row in MATRIX if row[1] in people]
    return pytest.mark.parametrize(
        ("url_name", "who", "get_status", "post_status"),
        rows,
        ids=[f"{name}-{who}" for name, who, *_statuses in rows],
    )


# --- the table against the URLconf ------------------------------------------------------------


def test_every_tenant_route_has_rows():
    """A new page under /o/<org_slug>/ fails here until the table says who may open it."""
    routes = tenant_url_names()
    assert None not in routes, f"Name these routes so the matrix can list them: {routes[None]}"
    problems = []
    for name, patterns in sorted(routes.items()):
        route = patterns[0][0]
        if len(patterns) > 1:
            problems.append(f"{name!r} names {len(patterns)} routes: {[r for r, _ in patterns]}")
        people = {who: (get, post) for row_name, who, get, post in MATRIX if row_name == name}
        if not people:
            problems.append(
                f"/{route} ({name!r}) has no row in MATRIX (tests/test_permission_matrix.py): "
                "add rows for anonymous, outsider, a member without the permission it needs "
                "(403) and one with it"
            )
            continue
        for who, status in ((ANONYMOUS, 302), (OUTSIDER, 404)):
            if who not in people:
                problems.append(f"/{route} ({name!r}) has no row for {who}")
            elif set(people[who]) - {status, None}:
                problems.append(f"/{route} ({name!r}): {who} must get {status} (DESIGN: Tenancy)")
        if not any(_lets_in(people[who]) for who in people.keys() & MEMBERS):
            problems.append(f"/{route} ({name!r}) has no row for a member who may use it")
        if not any(403 in people[who] for who in people) and READER not in people:
            problems.append(
                f"/{route} ({name!r}): add a row for a member without the permission (403), "
                "or a reader row if every member may use it"
            )
    assert not problems, "\n".join(problems)


def _lets_in(statuses) -> bool:
    return any(status is not None and status < 400 for status in statuses)


def test_every_row_names_a_tenant_route():
    """A row for a page that is gone (or renamed) fails here."""
    routes = tenant_url_names()
    gone = sorted({name for name, *_rest in MATRIX if name not in routes})
    assert not gone, f"MATRIX has rows for routes that no longer exist under /o/: {gone}"


def test_no_row_is_written_twice():
    seen = [(name, who) for name, who, *_statuses in MATRIX]
    twice = sorted({row for row in seen if seen.count(row) > 1})
    assert not twice, f"MATRIX has these (route, who) rows twice: {twice}"


# --- the rows ---------------------------------------------------------------------------------


@_rows(ANONYMOUS)
def test_tenancy_anonymous_is_sent_to_sign_in(db, url_name, who, get_status, post_status):
    """Every CRM page asks an anonymous visitor to sign in first (DESIGN: Tenancy)."""
    _check_row(url_name, who, get_status, post_status)


@_rows(OUTSIDER)
def test_tenancy_member_of_another_org_gets_404(db, url_name, who, get_status, post_status):
    """Another org's page is a 404 to an active member of another org, never a 403
    (DESIGN: Tenancy: no existence oracle)."""
    _check_row(url_name, who, get_status, post_status)


@_rows(*MEMBERS)
def test_usr1_usr3_member_may_do_what_their_profile_allows(
    db, url_name, who, get_status, post_status
):
    """USR-1: the profile decides what a member may do, 403 otherwise; USR-3: only
    administrators and users with Manage Users run the team; the super admin alone hands
    on the role and deletes the org (ORG-1, ORG-4)."""
    _check_row(url_name, who, get_status, post_status)


def _check_row(url_name, who, get_status, post_status):
    client, url = _client_and_url(url_name, who)
    statuses = [("GET", get_status)] + ([("POST", post_status)] if post_status else [])
    for method, expected in statuses:
        response = getattr(client, method.lower())(url)
        assert response.status_code == expected, (
            f"{method} {url} ({url_name}) as {who}: {response.status_code}, "
            f"the matrix says {expected}"
        )
        if expected == 302:
            _check_redirect(response, who)


def _check_redirect(response, who):
    to_sign_in = response["Location"].startswith(reverse(settings.LOGIN_URL))
    if who == ANONYMOUS:
        assert to_sign_in, f"anonymous sent to {response['Location']}, not to sign in"
    else:
        assert not to_sign_in, f"{who} is signed in but was sent to sign in"


def _client_and_url(url_name, who):
    """A client for `who` and the page's address in a fresh org, its URL keywords filled
    with objects of that org."""
    with scopes_disabled():
        org = OrganizationFactory()
        founder = CrmUserFactory(org=org, is_super_admin=True)
        person = _person(who, org, founder)
        assert url_name in TENANT_URLS, f"{url_name!r} is no route under /o/<org_slug>/"
        ((_route, keywords),) = TENANT_URLS[url_name]
        values = {keyword: OBJECT_MAKERS[keyword](org) for keyword in keywords}
        if person is not None and person.org_id == org.pk:
            _hand_over(values, person)
    client = Client() if person is None else client_for(person)
    return client, reverse(url_name, kwargs={"org_slug": org.slug, **values})


def _person(who, org, founder):
    if who == ANONYMOUS:
        return None
    if who == OUTSIDER:
        return CrmUserFactory(org=OrganizationFactory(), is_super_admin=True)
    if who == SUPER_ADMIN:
        return founder
    if who in CUSTOM_PROFILES:
        profile = Profile.objects.create(org=org, name=who, permissions=CUSTOM_PROFILES[who])
    else:
        builtin = Profile.ADMINISTRATOR if who == ADMIN else Profile.STANDARD
        profile = builtin_profile(org, builtin)
    return CrmUserFactory(org=org, profile=profile)


def _hand_over(values, person):
    """Make the records and the contact import in the URL the person's own, so that what
    their role may see (USR-2) and whose imports they may open do not hide the page: the
    matrix is about what the profile allows."""
    if "contact_pk" in values:
        Contact.objects.filter(pk=values["contact_pk"]).update(owner=person)
    if "account_pk" in values:
        Account.objects.filter(pk=values["account_pk"]).update(owner=person)
    if "contact_import_pk" in values:
        ContactImport.objects.filter(pk=values["contact_import_pk"]).update(created_by=person)
