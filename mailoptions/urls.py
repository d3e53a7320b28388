"""The mail add-on's pages under /o/<org_slug>/mail/ (included by crm_portal/urls.py)."""

from django.urls import path

from .views import admin, messages, sending, settings

urlpatterns = [
    path("", admin.mail_user_list, name="mail_user_list"),
    # A user's own mail settings (MAIL-5): every member.
    path("settings/", settings.mail_settings, name="mail_settings"),
    path("settings/sync/", settings.mail_sync_now, name="mail_sync_now"),
    # A stored message, for whoever may read it (point 2).
    path("messages/<int:message_pk>/", messages.mail_message, name="mail_message"),
    path(
        "messages/<int:message_pk>/attachments/<int:attachment_pk>/",
        messages.mail_message_attachment,
        name="mail_message_attachment",
    ),
    path("contacts/<int:contact_pk>/send/", sending.mail_contact_send, name="mail_contact_send"),
    path("<int:mailbox_pk>/lock/", admin.mail_user_lock, name="mail_user_lock"),
    path("<int:mailbox_pk>/unlock/", admin.mail_user_unlock, name="mail_user_unlock"),
    path("<int:mailbox_pk>/backup/", admin.mail_user_backup, name="mail_user_backup"),
]
