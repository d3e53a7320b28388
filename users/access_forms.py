"""Forms of the profile, role and territory pages (USR-1, USR-2, USR-8). They check the
shape of the input only; the rules (unique names, the tree, built-ins) live in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from . import permissions
from .models import Organization, Profile, Role, Territory


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(
        label=_("Description"),
        max_length=255,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=permissions.PERMISSIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, profile: Profile | None = None, **kwargs):
        if profile is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": profile.name,
                    "description": profile.description,
                    "permissions": profile.permissions,
                },
            )
        super().__init__(*args, **kwargs)
        if profile is not None and profile.builtin:
            # Built-in profiles keep their name and permissions; disabled fields ignore posts.
            self.initial["name"] = str(profile)
            self.fields["name"].disabled = True
            field = self.fields["permissions"]
            field.disabled = True
            field.help_text = (
                _("The Administrator profile can do everything; its permissions cannot change.")
                if profile.is_administrator
                else _(
                    "The permissions of a built-in profile cannot change. Create a custom "
                    "profile to choose permissions."
                )
            )


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    parent = SafeModelChoiceField(
        queryset=Role.objects.none(),
        label=_("Reports to"),
        error_messages={"required": _("Choose the role this one reports to.")},
    )
    share_with_peers = forms.BooleanField(
        label=_("Share data with peers"),
        required=False,
        help_text=_("Users in this role also see records owned by others in the same role."),
    )

    def __init__(self, *args, org: Organization, role: Role | None = None, **kwargs):
        if role is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": role.name,
                    "parent": role.parent_id,
                    "share_with_peers": role.share_with_peers,
                },
            )
        super().__init__(*args, **kwargs)
        if role is not None and role.parent_id is None:
            del self.fields["parent"]  # the top role reports to no one
        else:
            self.fields["parent"].queryset = org.roles.order_by("name")


class TerritoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    parent = SafeModelChoiceField(
        queryset=Territory.objects.none(),
        label=_("Part of"),
        required=False,
        empty_label=_("— none (a top-level territory) —"),
    )

    def __init__(self, *args, org: Organization, territory: Territory | None = None, **kwargs):
        if territory is not None:
            kwargs.setdefault("initial", {"name": territory.name, "parent": territory.parent_id})
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = org.territories.order_by("name")


class TerritoriesSwitchForm(forms.Form):
    enabled = forms.BooleanField(required=False)
