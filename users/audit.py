"""The audit log (USR-9): every app records its user-management actions here, and each
action code has the label the audit log page shows for it."""

from django.conf import settings
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .models import AuditLogEntry, CrmUser


def audit_entry(
    *,
    org,
    actor: CrmUser | None,
    action: str,
    target: CrmUser | None = None,
    details: dict | None = None,
    ip: str | None = None,
) -> AuditLogEntry:
    """An unsaved audit entry (USR-9): saved alone by audit_log_write, or in bulk."""
    return AuditLogEntry(
        org=org,
        actor=actor,
        actor_label=(f"{actor} <{actor.email}>" if actor else "system"),
        action=action,
        target=target,
        target_label=(f"{target} <{target.email}>" if target else ""),
        details=details or {},
        ip_address=ip,
    )


def audit_log_write(**kwargs) -> AuditLogEntry:
    entry = audit_entry(**kwargs)
    entry.save()
    return entry


ACTION_LABELS = {
    "user.added": _("User added"),
    "user.reinvited": _("User re-invited"),
    "user.access_changed": _("Role or profile changed"),
    "user.details_changed": _("User details changed"),
    "user.deactivated": _("User deactivated"),
    "user.activated": _("User activated"),
    "user.deleted": _("User deleted"),
    "user.left": _("User left the organisation"),
    "user.imported": _("User added by an import"),
    "customfield.created": _("Custom field created"),
    "customfield.changed": _("Custom field changed"),
    "customfield.deleted": _("Custom field deleted"),
    "fieldlayout.changed": _("Field layout changed"),
    "api_token_create": _("API token created"),
    "api_token_revoke": _("API token revoked"),
    "user.updated_by_import": _("User updated by an import"),
    "invitation.accepted": _("Invitation accepted"),
    "profile.created": _("Profile created"),
    "profile.changed": _("Profile changed"),
    "profile.deleted": _("Profile deleted"),
    "role.created": _("Role created"),
    "role.changed": _("Role changed"),
    "role.deleted": _("Role deleted"),
    "territories.enabled": _("Territories turned on"),
    "territories.disabled": _("Territories turned off"),
    "territory.created": _("Territory created"),
    "territory.changed": _("Territory changed"),
    "territory.deleted": _("Territory deleted"),
    # The organisation settings (ORG-7, X-3); details hold {"old": …, "new": …}.
    "org.renamed": _("Organisation renamed"),
    "org.slug_changed": _("Web address changed"),
    "org.time_zone_changed": _("Time zone changed"),
    "org.language_changed": _("Default language changed"),
    "org.idle_timeout_changed": _("Idle sign-out changed"),
    "org.super_admin_transferred": _("Super admin role transferred"),
    # portals (pconfig): POR-1, POR-2
    "portal.created": _("Portal created"),
    "portal.changed": _("Portal changed"),
    "portal.disabled": _("Portal disabled"),
    "portal.enabled": _("Portal enabled"),
    "portal.deleted": _("Portal deleted"),
    "usergroup.created": _("Portal user group created"),
    "usergroup.changed": _("Portal user group changed"),
    "usergroup.deleted": _("Portal user group deleted"),
    # portals (pusers)
    "portal_user.invited": _("Portal user invited"),
    "portal_user.accepted": _("Portal invitation accepted"),
    "portal_user.disabled": _("Portal user disabled"),
    "portal_user.enabled": _("Portal user enabled"),
    "portal_user.reinvited": _("Portal user re-invited"),
    "portal_user.group_changed": _("Portal user's group changed"),
    "portal_user.deleted": _("Portal user deleted"),
    # portals (pemails): details hold {"portal", "kind", "language", "group"}.
    "email_template.changed": _("Portal email template changed"),
    "email_template.reset": _("Portal email template reset to default"),
    # portals (pemailchange): POR-5; details hold {"email", "new_email", "portal"}.
    "portal_user.email_change_requested": _("Portal user's email change requested"),
    "portal_user.email_changed": _("Portal user's email changed"),
    # portals (pprofile): X-2
    "portal_user.mfa_reset": _("Portal user's two-factor reset"),
    # portals (auto-invite): AUT-1, AUT-6, AUT-7; details hold {"portal", …}.
    "autoinvite.saved": _("Auto-invite settings saved"),
    "autoinvite.enabled": _("Auto-invite turned on"),
    "autoinvite.disabled": _("Auto-invite turned off"),
    "autoinvite.deleted": _("Auto-invite settings deleted"),
    "autoinvite.matched_now": _("Existing contacts invited by auto-invite"),
    "autoinvite.retried": _("Failed invitations retried"),
}


def action_label(code: str) -> str:
    """The translated label of an action code; an unknown code is shown as it is."""
    return str(ACTION_LABELS.get(code, code))


# --- details as sentences (USR-9, X-1) -------------------------------------------------------
# An entry's details are data ({"before": …, "after": …}, names, counts); these functions say
# them as a sentence in the viewer's language when the log is read, never when it is written.

FIELD_LABELS = {
    "name": _("Name"),
    "role": _("Role"),
    "profile": _("Profile"),
    "parent": _("Parent"),
    "share_with_peers": _("Shares data with peers"),
    "permissions": _("Permissions"),
    "label": _("Label"),
    "choices": _("Choices"),
    "required": _("Required"),
    "position": _("Position"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("Email address"),
    "phone": _("Phone"),
    "mobile": _("Mobile"),
    "website": _("Website"),
    "fax": _("Fax"),
    "street": _("Street"),
    "city": _("City"),
    "state": _("State"),
    "postal_code": _("Postal code"),
    "country": _("Country"),
    "language": _("Language"),
    "time_zone": _("Time zone"),
    "module": _("Module"),
    "key": _("Key"),
    "type": _("Type"),
    "prefix": _("Prefix"),
    "import": _("Import"),
    "invited": _("Invited"),
    "fields": _("Fields"),
    "users": _("Users"),
    "records_with_value": _("Records with a value"),
    "old": _("Before"),
    "new": _("After"),
    "from": _("From"),
    "to": _("To"),
    # portals (pconfig)
    "slug": _("Web address"),
    "languages": _("Languages offered"),
    "default_language": _("Default language"),
    "primary_colour": _("Main colour"),
    "background_colour": _("Background colour"),
    "logo": _("Logo"),
    "modules": _("Shared modules"),
    "portal": _("Portal"),
    "group": _("User group"),
}

MODULE_LABELS = {"contacts": _("Contacts"), "accounts": _("Accounts")}


def field_label(key: str) -> str:
    label = FIELD_LABELS.get(key)
    return str(label) if label else str(key).replace("_", " ").capitalize()


def shown_value(value) -> str:
    """A detail's value in words: yes/no for a flag, a list joined, "—" for nothing."""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(shown_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_label(k)}: {shown_value(v)}" for k, v in value.items())
    return str(value)


def changes_sentence(before: dict, after: dict) -> str:
    """ "Role changed from Manager to Sales. Profile changed from …" for what differs."""
    parts = []
    for key, new in (after or {}).items():
        old = (before or {}).get(key)
        if old == new:
            continue
        if key == "permissions" and isinstance(old, list) and isinstance(new, list):
            parts.append(_permissions_change(old, new))
        else:
            parts.append(
                gettext("%(field)s changed from %(old)s to %(new)s.")
                % {"field": field_label(key), "old": shown_value(old), "new": shown_value(new)}
            )
    return " ".join(parts) or gettext("Nothing changed.")


def _permissions_change(old: list, new: list) -> str:
    added, removed = len(set(new) - set(old)), len(set(old) - set(new))
    return gettext("Permissions changed: %(added)s added, %(removed)s removed.") % {
        "added": added,
        "removed": removed,
    }


def fallback_sentence(details: dict) -> str:
    """Details no sentence knows, still readable: "Field: value; Field: value"."""
    return "; ".join(f"{field_label(k)}: {shown_value(v)}" for k, v in (details or {}).items())


def _module(d) -> str:
    return str(MODULE_LABELS.get(d.get("module"), d.get("module", "")))


def _language(code) -> str:
    names = dict(settings.LANGUAGES)
    return str(names.get(code, code or "—"))


def _minutes(value) -> str:
    if not value:
        return gettext("never")
    return ngettext("%(n)s minute", "%(n)s minutes", int(value)) % {"n": value}


def _old_new(template, show=shown_value):
    return lambda d, t: str(template) % {"old": show(d.get("old")), "new": show(d.get("new"))}


def _transfer(d, target) -> str:
    if d.get("from") or d.get("to"):
        return gettext("The super admin role passed from %(from)s to %(to)s.") % {
            "from": shown_value(d.get("from")),
            "to": shown_value(d.get("to") or target),
        }
    return gettext("The super admin role passed to %(to)s.") % {"to": shown_value(target)}


def _user_added(d, t) -> str:
    text = gettext("Added with the role %(role)s and the profile %(profile)s.") % {
        "role": shown_value(d.get("role")),
        "profile": shown_value(d.get("profile")),
    }
    if "invited" in d:
        text += " " + (
            gettext("An invitation was sent.")
            if d["invited"]
            else gettext("No invitation was sent.")
        )
    return text


def _fields_changed(d, t) -> str:
    return gettext("Changed: %(fields)s.") % {
        "fields": ", ".join(field_label(f) for f in d.get("fields", []))
    }


def _updated_by_import(d, t) -> str:
    return gettext("Updated by import #%(import)s: %(fields)s.") % {
        "import": d["import"],
        "fields": ", ".join(field_label(f) for f in d.get("fields", [])),
    }


def _custom_field_created(d, t) -> str:
    return gettext("Field “%(label)s” (%(type)s) added to %(module)s.") % {
        "label": d["label"],
        "type": str(FIELD_TYPE_LABELS.get(d.get("type"), d.get("type"))),
        "module": _module(d),
    }


def _custom_field_deleted(d, t) -> str:
    count = int(d.get("records_with_value") or 0)
    return ngettext(
        "Field “%(label)s” deleted from %(module)s; %(count)s record had a value.",
        "Field “%(label)s” deleted from %(module)s; %(count)s records had a value.",
        count,
    ) % {"label": d.get("label") or d["key"], "module": _module(d), "count": count}


def _territory_deleted(d, t) -> str:
    count = int(d.get("users") or 0)
    return ngettext(
        "Territory “%(name)s” deleted; it had %(count)s user.",
        "Territory “%(name)s” deleted; it had %(count)s users.",
        count,
    ) % {"name": d["territory"], "count": count}


def _named(template, key):
    return lambda d, t: str(template) % {"name": d[key]}


def _plain(template):
    return lambda d, t: str(template)


def _token(template):
    return lambda d, t: str(template) % {"name": d["name"], "prefix": d.get("prefix", "")}


def _changes(d, t) -> str:
    return changes_sentence(d.get("before"), d.get("after"))


def _custom_field_changed(d, t) -> str:
    return gettext("Field “%(key)s” of %(module)s: %(changes)s") % {
        "key": (d.get("after") or {}).get("label") or d["key"],
        "module": _module(d),
        "changes": changes_sentence(d["before"], d["after"]),
    }


FIELD_TYPE_LABELS = {
    "text": _("Text"),
    "email": _("Email"),
    "phone": _("Phone"),
    "picklist": _("Picklist"),
    "multiselect": _("Multi-select"),
    "number": _("Number"),
    "currency": _("Currency"),
    "date": _("Date"),
    "datetime": _("Date and time"),
    "checkbox": _("Checkbox"),
}

# Each action's sentence: a function of (details, target label). Templates are lazy, so they
# are translated when the log is read, in the reader's language.
SENTENCES = {
    "user.added": _user_added,
    "user.reinvited": _plain(_("The invitation was sent again.")),
    "user.access_changed": _changes,
    "user.details_changed": _fields_changed,
    "user.deactivated": _plain(_("The user was deactivated.")),
    "user.activated": _plain(_("The user was activated again.")),
    "user.deleted": lambda d, t: gettext("%(email)s was deleted.") % {"email": d["email"]},
    "user.left": _plain(_("The user left the organisation.")),
    "user.imported": lambda d, t: gettext("Added by import #%(import)s.") % {"import": d["import"]},
    "user.updated_by_import": _updated_by_import,
    "customfield.created": _custom_field_created,
    "customfield.changed": _custom_field_changed,
    "customfield.deleted": _custom_field_deleted,
    "fieldlayout.changed": lambda d, t: (
        gettext("The order of the fields of %(module)s changed.") % {"module": _module(d)}
    ),
    "api_token_create": _token(_("API token “%(name)s” (%(prefix)s…) created.")),
    "api_token_revoke": _token(_("API token “%(name)s” (%(prefix)s…) revoked.")),
    "super_admin.transferred": _transfer,
    "org.super_admin_transferred": _transfer,
    "invitation.accepted": _plain(_("The invitation was accepted.")),
    "profile.created": lambda d, t: _created(_("Profile “%(name)s” created."), d),
    "profile.changed": _changes,
    "profile.deleted": _named(_("Profile “%(name)s” deleted."), "profile"),
    "role.created": lambda d, t: _created(_("Role “%(name)s” created."), d),
    "role.changed": _changes,
    "role.deleted": _named(_("Role “%(name)s” deleted."), "role"),
    "territories.enabled": _plain(_("Territories were turned on.")),
    "territories.disabled": _plain(_("Territories were turned off.")),
    "territory.created": lambda d, t: _created(_("Territory “%(name)s” created."), d),
    "territory.changed": _changes,
    "territory.deleted": _territory_deleted,
    "org.renamed": _old_new(_("The organisation was renamed from “%(old)s” to “%(new)s”.")),
    "org.slug_changed": _old_new(_("The web address changed from /o/%(old)s/ to /o/%(new)s/.")),
    "org.time_zone_changed": _old_new(_("The time zone changed from %(old)s to %(new)s.")),
    "org.language_changed": _old_new(
        _("The default language changed from %(old)s to %(new)s."), show=_language
    ),
    "org.idle_timeout_changed": _old_new(
        _("Idle members are signed out after %(new)s (before: %(old)s)."), show=_minutes
    ),
    # portals (pconfig): POR-1, POR-2
    "portal.created": lambda d, t: _created(_("Portal “%(name)s” created."), d),
    "portal.changed": lambda d, t: (
        gettext("Portal “%(name)s”: %(changes)s")
        % {"name": d["portal"], "changes": changes_sentence(d["before"], d["after"])}
    ),
    "portal.disabled": _named(_("Portal “%(name)s” disabled."), "portal"),
    "portal.enabled": _named(_("Portal “%(name)s” enabled."), "portal"),
    "portal.deleted": lambda d, t: (
        ngettext(
            "Portal “%(name)s” deleted with %(count)s portal user.",
            "Portal “%(name)s” deleted with %(count)s portal users.",
            d.get("users", 0),
        )
        % {"name": d["portal"], "count": d.get("users", 0)}
    ),
    "usergroup.created": lambda d, t: (
        gettext("User group “%(name)s” of the portal “%(portal)s” created.")
        % {"name": (d.get("after") or {}).get("name", "—"), "portal": d["portal"]}
    ),
    "usergroup.changed": lambda d, t: (
        gettext("User group “%(name)s” of the portal “%(portal)s”: %(changes)s")
        % {
            "name": d["group"],
            "portal": d["portal"],
            "changes": changes_sentence(d["before"], d["after"]),
        }
    ),
    "usergroup.deleted": lambda d, t: (
        gettext("User group “%(name)s” of the portal “%(portal)s” deleted.")
        % {"name": d["group"], "portal": d["portal"]}
    ),
    # portals (pusers)
    "portal_user.invited": lambda d, t: _portal_user(
        _("%(email)s was invited to the portal %(portal)s (group %(group)s)."), d
    ),
    "portal_user.accepted": lambda d, t: _portal_user(
        _("%(email)s accepted the invitation to the portal %(portal)s."), d
    ),
    "portal_user.disabled": lambda d, t: _portal_user(
        _("%(email)s can no longer use the portal %(portal)s."), d
    ),
    "portal_user.enabled": lambda d, t: _portal_user(
        _("%(email)s can use the portal %(portal)s again."), d
    ),
    "portal_user.reinvited": lambda d, t: _portal_user(
        _("%(email)s asked for a new invitation to the portal %(portal)s; it was sent to them.")
        if d.get("requested_by") == "invitee"  # POR-9 (pexpired)
        else _("A new invitation to the portal %(portal)s was sent to %(email)s."),
        d,
    ),
    "portal_user.group_changed": lambda d, t: _portal_user(
        _("%(email)s moved from group %(before)s to group %(group)s in the portal %(portal)s."), d
    ),
    "portal_user.deleted": lambda d, t: _portal_user(
        _("%(email)s was removed from the portal %(portal)s."), d
    ),
    # portals (pemails)
    "email_template.changed": lambda d, t: _email_template(
        _("The “%(kind)s” email of portal “%(portal)s” in %(language)s was customised."), d
    ),
    "email_template.reset": lambda d, t: _email_template(
        _("The “%(kind)s” email of portal “%(portal)s” in %(language)s was reset to default."), d
    ),
    # portals (pemailchange)
    "portal_user.email_change_requested": lambda d, t: (
        _("A change of %(email)s to %(new_email)s was asked for in the portal %(portal)s.")
        % {k: d.get(k, "—") for k in ("email", "new_email", "portal")}
    ),
    "portal_user.email_changed": lambda d, t: (
        _("%(email)s is now %(new_email)s in the portal %(portal)s.")
        % {k: d.get(k, "—") for k in ("email", "new_email", "portal")}
    ),
    # portals (pprofile)
    "portal_user.mfa_reset": lambda d, t: _portal_user(
        _("Two-factor authentication of %(email)s was reset for the portal %(portal)s."), d
    ),
}


def _portal_user(template, d) -> str:
    keys = ("email", "portal", "group", "before")
    return str(template) % {k: d.get(k, "—") for k in keys}


def _email_template(template, d) -> str:
    """POR-6: the email's kind by its label, its language by name; a group override says so."""
    kinds = {
        "accept_invitation": _("Accept invitation"),
        "confirm_email": _("Confirm email address"),
    }
    sentence = str(template) % {
        "kind": str(kinds.get(d["kind"], d["kind"])),
        "portal": d["portal"],
        "language": _language(d["language"]),
    }
    if d.get("group"):
        sentence += " " + gettext("(User group: %(group)s)") % {"group": d["group"]}
    return sentence


def _created(template, d) -> str:
    return str(template) % {"name": (d.get("after") or {}).get("name", "—")}


def audit_sentence(action: str, details: dict | None, target: str = "") -> str:
    """An entry's details as a sentence in the current language. Details a sentence cannot
    read (an older shape, a missing key) fall back to "Field: value"; never raises."""
    details = details if isinstance(details, dict) else {}
    sentence = SENTENCES.get(action)
    if sentence is not None:
        try:
            return sentence(details, target)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return fallback_sentence(details)
