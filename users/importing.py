"""User import (IMP-2 … IMP-5): which fields a column may fill, and what each row does —
the user kind of the import engine (imports/), whose planner plans and writes the rows.

The preview and the worker use the same planner, so what the preview promises is what the run
does (unless the team changed in between: the worker plans against the state at run time).
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from crm_portal.stored_messages import dumps
from imports.columns import is_id
from imports.kinds import ImportKind, RowPlan, RowPlanner

from . import permissions
from .audit import audit_entry
from .models import AuditLogEntry, CrmUser, Profile, Role, UserImport, UserImportRow
from .selectors import active_admins, licences_used
from .services.organizations import organization_lock

FIELDS = [
    ("user_id", gettext_lazy("User ID")),
    ("first_name", gettext_lazy("First name")),
    ("last_name", gettext_lazy("Last name")),
    ("email", gettext_lazy("Email address")),
    ("role", gettext_lazy("Role")),
    ("profile", gettext_lazy("Profile")),
    ("phone", gettext_lazy("Phone")),
    ("mobile", gettext_lazy("Mobile")),
    ("website", gettext_lazy("Website")),
    ("fax", gettext_lazy("Fax")),
    ("street", gettext_lazy("Street")),
    ("city", gettext_lazy("City")),
    ("state", gettext_lazy("State")),
    ("postal_code", gettext_lazy("Postal code")),
    ("country", gettext_lazy("Country")),
]
FIELD_KEYS = [key for key, _label in FIELDS]
DETAIL_KEYS = [
    "phone",
    "mobile",
    "website",
    "fax",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
]
SAMPLE_ROW = {
    "first_name": "Taro",
    "last_name": "Yamada",
    "email": "taro.yamada@example.com",
    "role": "Manager",
    "profile": "Standard",
    "phone": "+81 3-1234-5678",
}

# Header names in English and Japanese, besides the fields' own labels in both languages.
HEADER_ALIASES = {
    "user_id": ["user id", "userid", "id", "ユーザーid", "ユーザid"],
    "first_name": ["first name", "firstname", "given name", "名", "名前(名)", "ファーストネーム"],
    "last_name": ["last name", "lastname", "surname", "family name", "姓", "名前(姓)", "苗字"],
    "email": [
        "email",
        "e-mail",
        "email address",
        "mail",
        "メール",
        "メールアドレス",
        "eメール",
        "電子メール",
    ],
    "role": ["role", "役職", "ロール"],
    "profile": ["profile", "プロファイル", "プロフィール"],
    "phone": ["phone", "telephone", "tel", "電話", "電話番号"],
    "mobile": ["mobile", "mobile phone", "cell", "携帯", "携帯電話", "携帯番号"],
    "website": ["website", "web site", "url", "ウェブサイト", "webサイト", "ホームページ"],
    "fax": ["fax", "ファックス", "fax番号"],
    "street": ["street", "address", "番地", "住所"],
    "city": ["city", "市区町村", "市町村"],
    "state": ["state", "province", "prefecture", "都道府県", "州"],
    "postal_code": ["postal code", "zip", "zip code", "postcode", "郵便番号"],
    "country": ["country", "国"],
}


class UserPlanner(RowPlanner):
    """Plans rows in file order against the org's state, remembering what earlier rows of
    the same file will do: licences they take (IMP-5), emails and users they claim. Writes a
    batch's new users, changes and audit entries with a few statements."""

    writes_in_bulk = True

    def __init__(self, *, imp: UserImport, rows: list[UserImportRow]):
        """Loads only the members that `rows` may name."""
        super().__init__(imp=imp, rows=rows)
        org = imp.org
        self.licences_left = org.licence_limit - licences_used(org)
        members = self._named_by(CrmUser.objects.filter(org=org).select_related("profile"), rows)
        self.by_email = {m.email.lower(): m for m in members}
        self.by_id = {m.pk: m for m in self.by_email.values()}
        self.roles = _by_names(Role.objects.filter(org=org), _role_names)
        self.profiles = _by_names(Profile.objects.filter(org=org), _profile_names)
        self.default_role = self.roles.get("manager")
        self.default_profile = Profile.objects.filter(org=org, builtin=Profile.STANDARD).first()
        self.claimed_emails: dict[str, int] = {}
        self.claimed_users: dict[int, int] = {}
        self.active_admins = set(active_admins(org).values_list("pk", flat=True))

    def _named_by(self, members, rows):
        cells = [self.cells(row.values) for row in rows]
        emails = {c["email"].lower() for c in cells if c.get("email")}
        ids = {int(c["user_id"]) for c in cells if is_id(c.get("user_id", ""))}
        return members.annotate(email_lower=Lower("email")).filter(
            Q(email_lower__in=emails) | Q(pk__in=ids)
        )

    # --- reading a row ------------------------------------------------------------------

    def _find(self, cells) -> tuple[CrmUser | None, str | None]:
        if self.imp.match_key == UserImport.MatchKey.ID:
            raw = cells.get("user_id", "")
            if not raw:
                return None, None
            if not is_id(raw) or int(raw) not in self.by_id:
                return None, dumps("user.no_such_id", id=raw)
            return self.by_id[int(raw)], None
        return self.by_email.get(cells.get("email", "").lower()), None

    # --- planning -------------------------------------------------------------------------

    def plan(self, values: list[str], row_number: int) -> RowPlan:
        cells = self.cells(values)
        target, not_found = self._find(cells)
        mode = self.imp.mode
        if target is not None:
            if mode == UserImport.Mode.ADD:
                return RowPlan("skip", dumps("user.already_user", email=target.email))
            return self._plan_update(target, cells, row_number)
        if mode == UserImport.Mode.UPDATE:
            return RowPlan("skip", not_found or dumps("user.no_match"))
        if not_found and self.imp.match_key == UserImport.MatchKey.ID:
            return RowPlan("error", not_found)
        return self._plan_create(cells, row_number)

    def _plan_create(self, cells, row_number) -> RowPlan:
        email = cells.get("email", "").lower()
        problem = self._check_email(email) or self._check_required(cells)
        if problem:
            return RowPlan("error", problem)
        if email in self.by_email:
            return RowPlan(
                "skip",
                dumps("user.exists_match_by_email", email=email),
            )
        if email in self.claimed_emails:
            return RowPlan(
                "skip",
                dumps("row.earlier_in_file", email=email, row=self.claimed_emails[email]),
            )
        role, profile, problem = self._access(cells, defaults=True)
        problem = problem or self._check_details(cells)
        if problem:
            return RowPlan("error", problem)
        if self.licences_left <= 0:
            return RowPlan("skip", dumps("user.no_licence"))
        self.licences_left -= 1
        self.claimed_emails[email] = row_number
        values = {
            "email": email,
            "first_name": cells.get("first_name", ""),
            "last_name": cells["last_name"],
            "role": role,
            "profile": profile,
            **{k: cells[k] for k in DETAIL_KEYS if k in cells},
        }
        return RowPlan("create", values=values)

    def _plan_update(self, target: CrmUser, cells, row_number) -> RowPlan:
        if target.pk in self.claimed_users:
            return RowPlan(
                "skip",
                dumps("user.already_updated", row=self.claimed_users[target.pk]),
            )
        role, profile, problem = self._access(cells, defaults=False)
        problem = problem or self._check_details(cells)
        if not problem and "last_name" in cells and not cells["last_name"]:
            if not self.imp.keep_empty:
                problem = dumps("user.last_name_required")
        problem = problem or (profile and self._check_admin_kept(target, profile))
        if problem:
            return RowPlan("error", problem)
        changes = {}
        for key in ["first_name", "last_name", *DETAIL_KEYS]:
            if key in cells and (cells[key] or not self.imp.keep_empty):
                if getattr(target, key) != cells[key]:
                    changes[key] = cells[key]
        for key, value in (("role", role), ("profile", profile)):
            if value is not None and getattr(target, f"{key}_id") != value.pk:
                changes[key] = value
        if not changes:
            return RowPlan("skip", dumps("row.nothing_to_change"), target=target)
        self.claimed_users[target.pk] = row_number
        return RowPlan("update", values=changes, target=target)

    # --- checks ---------------------------------------------------------------------------

    def _check_email(self, email: str) -> str | None:
        if not email:
            return dumps("user.email_required")
        try:
            validate_email(email)
        except ValidationError:
            return dumps("user.email_invalid", email=email)
        return None

    def _check_required(self, cells) -> str | None:
        if not cells.get("last_name"):
            return dumps("user.last_name_required")
        return None

    def _check_details(self, cells) -> str | None:
        for key, value in cells.items():
            limit = _MAX_LENGTHS.get(key)
            if limit and len(value) > limit:
                return dumps("value.too_long", field=dict(FIELDS)[key], limit=limit)
        if cells.get("website"):
            try:
                _WEBSITE(cells["website"])
            except ValidationError:
                return dumps("user.website_invalid", value=cells["website"])
        return None

    def _access(self, cells, *, defaults: bool):
        """Role and profile by name or by ID (IMP-3); absent or empty: Manager and Standard
        for a new user, unchanged for an existing one."""
        role = _lookup(cells.get("role", ""), self.roles)
        profile = _lookup(cells.get("profile", ""), self.profiles)
        if role is False:
            return (
                None,
                None,
                dumps("user.no_such_role", value=cells["role"]),
            )
        if profile is False:
            return (
                None,
                None,
                dumps("user.no_such_profile", value=cells["profile"]),
            )
        if defaults:
            role, profile = role or self.default_role, profile or self.default_profile
            if role is None:
                return None, None, dumps("user.no_default_role")
        return role, profile, None

    def _check_admin_kept(self, target: CrmUser, profile: Profile) -> str | None:
        if profile.is_administrator:
            return None
        if target.is_super_admin:
            return dumps("user.super_admin_profile")
        if target.pk in self.active_admins and not (self.active_admins - {target.pk}):
            return dumps("user.last_admin", name=str(target))
        return None

    # --- writing --------------------------------------------------------------------------

    def write_all(self, plans: list[RowPlan]) -> None:
        """New users in one statement, each change in its own, the audit entries in one."""
        creates = [plan for plan in plans if plan.action == "create"]
        members = CrmUser.objects.bulk_create([self._new_member(plan) for plan in creates])
        for plan, member in zip(creates, members, strict=True):
            plan.target = member
        for plan in plans:
            if plan.action == "update":
                _update_member(plan)
        AuditLogEntry.objects.bulk_create(
            [self._audit_entry(plan) for plan in plans if plan.action in ("create", "update")]
        )

    def write(self, plan: RowPlan) -> RowPlan:
        self.write_all([plan])
        return plan

    def _new_member(self, plan: RowPlan) -> CrmUser:
        return CrmUser(
            org=self.imp.org,
            status=CrmUser.Status.UNCONFIRMED,
            status_changed_at=timezone.now(),
            language=self.imp.org.language,  # the org's defaults for new members (ORG-7)
            time_zone=self.imp.org.time_zone,
            **plan.values,
        )

    def _audit_entry(self, plan: RowPlan) -> AuditLogEntry:
        if plan.action == "create":
            action, details = "user.imported", {"import": self.imp.pk}
        else:
            action, details = (
                "user.updated_by_import",
                {"import": self.imp.pk, "fields": sorted(plan.values)},
            )
        return audit_entry(
            org=self.imp.org,
            actor=self.imp.created_by,
            action=action,
            target=plan.target,
            details=details,
        )


def _update_member(plan: RowPlan) -> None:
    member = plan.target
    for key, value in plan.values.items():
        setattr(member, key, value)
    member.save(update_fields=list(plan.values))


_MAX_LENGTHS = {
    f.name: f.max_length for f in CrmUser._meta.fields if f.name in FIELD_KEYS and f.max_length
}
_WEBSITE = URLValidator(schemes=["http", "https"])


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _role_names(role: Role) -> set[str]:
    return {_normal(role.name)}


def _profile_names(profile: Profile) -> set[str]:
    names = {_normal(profile.name)}
    if profile.builtin:  # "Standard", "スタンダード": the labels the user sees
        for language in ("en", "ja"):
            with translation.override(language):
                names.add(_normal(str(profile)))
    return names


def _by_names(items, names) -> dict:
    """{normalised name or "#<id>": item}, computed once per planner."""
    found = {}
    for item in items:
        found[f"#{item.pk}"] = item
        for name in names(item):
            found.setdefault(name, item)
    return found


def _lookup(value: str, items: dict):
    """The matching item, None when the cell is empty, False when nothing matches."""
    if not value:
        return None
    key = f"#{int(value)}" if value.isdigit() else _normal(value)
    return items.get(key, False)


def columns_needed(imp: UserImport) -> list[str]:
    """Adding needs the email address and last name; updating, the column users are found by."""
    needed = []
    if imp.mode != UserImport.Mode.UPDATE:
        needed += ["email", "last_name"]
    if imp.mode != UserImport.Mode.ADD:
        needed.append("user_id" if imp.match_key == UserImport.MatchKey.ID else "email")
    return needed


def allowed_modes(membership: CrmUser | None) -> list[str]:
    """Members who may manage users may import them, in every mode (USR-1)."""
    if membership is None or not membership.can(permissions.MANAGE_USERS):
        return []
    return list(UserImport.Mode.values)


USER_IMPORT = ImportKind(
    key="users",
    run_model=UserImport,
    row_model=UserImportRow,
    run_field="user_import",
    target_field="crm_user",
    planner=UserPlanner,
    fields=lambda org: FIELDS,
    header_aliases=HEADER_ALIASES,
    id_field="user_id",
    sample_values=SAMPLE_ROW,
    columns_needed=columns_needed,
    allowed_modes=allowed_modes,
    # Licences are the org's: imports and member changes of one org take turns (IMP-5).
    lock_batch=lambda imp: organization_lock(imp.org),
)
