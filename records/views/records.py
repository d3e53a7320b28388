"""Contacts and accounts pages (REC-2): list with filters, sort and pagination; detail with
related records and the history of changes; create, edit, delete — all limited to what the
member's role may see (USR-2) and their profile may do (USR-1)."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Window
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.countries import country_name
from crm_portal.forms import family_name_field_first
from crm_portal.params import id_list_param, int_param, page_param, sort_param, text_param
from crm_portal.rows import pk_url
from crm_portal.search import TRIGRAM_MIN_LENGTH, order_for_search
from crm_portal.widgets import Combobox
from mailoptions.selectors import record_messages
from users.permissions import record_permission

from ..forms import RecordForm
from ..models import Contact
from ..notes import NOTE_MAX_CHARS, record_attachments, record_notes
from ..selectors import (
    contacts_visible_to,
    record_history,
    records_visible_to,
    search_records,
)
from ..services import record_create, record_delete, record_update, records_bulk_update

PAGE_SIZE = 25


class KeysFirstPaginator(Paginator):
    """Deep pages stay fast on large lists (REC-2). A page is read in two statements: first
    its ids (ORDER BY … LIMIT … OFFSET … over the sort's index, which skips the rows before the
    page inside the index), then only those rows with their relations. The plain way fetches
    and throws away every row before the page.

    With `count_with_ids` (a search, issue 21) the total comes with the page's ids, in one
    statement (COUNT(*) OVER ()): a search's matches are all found and sorted anyway, so
    counting them apart would run the trigram lookup twice. `rows` (the same records with
    their relations, unfiltered) reads the page's rows by id alone, so the search's condition
    is not evaluated a third time."""

    def __init__(self, object_list, per_page, *, count_with_ids: bool = False, rows=None):
        super().__init__(object_list, per_page)
        self.count_with_ids = count_with_ids
        self.rows = rows
        self._ids_of_page: tuple[int, list] | None = None

    def get_page(self, number):
        if self.count_with_ids:
            self._read_ids_and_count(number)
        return super().get_page(number)

    def _read_ids_and_count(self, number: int) -> None:
        bottom = (number - 1) * self.per_page
        rows = list(
            self.object_list.annotate(_total=Window(Count("pk"))).values_list("pk", "_total")[
                bottom : bottom + self.per_page
            ]
        )
        if rows:
            self.__dict__["count"] = rows[0][1]  # Paginator.count is a cached_property
            self._ids_of_page = (number, [pk for pk, _total in rows])
        elif number == 1:
            self.__dict__["count"] = 0
        # Past the last page: Paginator counts as usual and serves the last page.

    def page(self, number):
        number = self.validate_number(number)
        if self._ids_of_page and self._ids_of_page[0] == number:
            ids = self._ids_of_page[1]
        else:
            bottom = (number - 1) * self.per_page
            top = bottom + self.per_page
            if top + self.orphans >= self.count:
                top = self.count
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(self._rows(ids), number, self)

    def _rows(self, ids: list) -> list:
        if not ids:
            return []
        if self.rows is None:
            return list(self.object_list.filter(pk__in=ids))
        found = {row.pk: row for row in self.rows.filter(pk__in=ids)}
        return [found[pk] for pk in ids if pk in found]


# ?sort= values and their ORDER BY; each is served by an index on (org, …).
SORTS = {
    "contacts": {
        "name": ("last_name", "first_name", "pk"),
        "-name": ("-last_name", "-first_name", "-pk"),
        "email": ("email", "pk"),
        "-email": ("-email", "-pk"),
        "created": ("created_at", "pk"),
        "-created": ("-created_at", "-pk"),
    },
    "accounts": {
        "name": ("name", "pk"),
        "-name": ("-name", "-pk"),
        "created": ("created_at", "pk"),
        "-created": ("-created_at", "-pk"),
    },
}
FILTERS = {
    "contacts": ("subscription", "language", "country", "owner", "account"),
    "accounts": ("country", "owner"),
}
PK = {"contacts": "contact_pk", "accounts": "account_pk"}
RELATED = {"contacts": ("owner", "account"), "accounts": ("owner",)}


def _require(request, module, action):
    if not request.membership.can(record_permission(module, action)):
        raise PermissionDenied


def _visible(request, module):
    return records_visible_to(membership=request.membership, module=module)


def _record(request, module, pk):
    return get_object_or_404(_visible(request, module).select_related("owner"), pk=pk)


def _filtered(params, membership, module):
    records = records_visible_to(membership=membership, module=module)
    records = records.select_related(*RELATED[module])
    query = text_param(params, "q")
    records = search_records(records, module=module, query=query)
    chosen = {}
    for name in FILTERS[module]:
        value = text_param(params, name)
        if value:
            lookup = f"{name}_id" if name in ("owner", "account") else name
            if lookup.endswith("_id") and not (value.isascii() and value.isdigit()):
                continue
            records = records.filter(**{lookup: value.upper() if name == "country" else value})
            chosen[name] = value
    sort = sort_param(params, SORTS[module], default="name")
    ordering = order_for_search(SORTS[module][sort], query)  # issue 21
    return records.order_by(*ordering), query, chosen, sort


def _pickers(request, chosen):
    owner = chosen.get("owner")
    owners = [(o.pk, str(o)) for o in request.org.crm_users.filter(pk=owner)] if owner else []
    country = chosen.get("country", "").upper()
    return {
        "owner_picker": _combobox(request, "members", "owner", "f-owner", owner, owners),
        "country_picker": _combobox(
            request,
            "countries",
            "country",
            "f-country",
            country,
            [(country, country_name(country))] if country else [],
        ),
        "bulk_owner_picker": _combobox(request, "members", "owner", "bulk-owner", None, []),
    }


def _combobox(request, kind, name, html_id, value, choices):
    widget = Combobox(url=reverse(f"autocomplete_{kind}", kwargs={"org_slug": request.org.slug}))
    widget.choices = choices
    return widget.render(name, value, attrs={"id": html_id})


# What a row of the contacts list shows: its other columns are not read (issue 21).
CONTACT_ROW_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "subscription",
    "country",
    "created_at",
    "owner__first_name",
    "owner__last_name",
    "owner__email",
    "account__name",
)


@dataclass(frozen=True)
class ContactRow:
    """A row of the contacts list worked out once per page in Python: the template reverses
    no URL and translates nothing per row (issue 21: a row cost 0.4 ms of template work)."""

    contact: Contact
    name: str
    url: str
    select_label: str
    account: str
    subscription: str
    country: str
    owner: str
    created: str


def _contact_rows(request, contacts) -> list[ContactRow]:
    url = pk_url("contact_detail", "contact_pk", org_slug=request.org.slug)
    subscriptions = {value: str(label) for value, label in Contact.Subscription.choices}
    select = _("Select %(name)s")
    rows = []
    for c in contacts:
        name = str(c)
        rows.append(
            ContactRow(
                contact=c,
                name=name,
                url=url(c.pk),
                select_label=select % {"name": name},
                account=str(c.account) if c.account else "—",
                subscription=subscriptions.get(c.subscription, c.subscription),
                country=country_name(c.country),
                owner=str(c.owner) if c.owner else "—",
                created=date_format(localtime(c.created_at), "SHORT_DATE_FORMAT"),
            )
        )
    return rows


def record_list(request, module):
    records, query, chosen, sort = _filtered(request.GET, request.membership, module)
    searching = len(query.strip()) >= TRIGRAM_MIN_LENGTH
    rows = records.model.objects.select_related(*RELATED[module]).order_by()
    if module == "contacts":
        rows = rows.only(*CONTACT_ROW_COLUMNS)
    paginator = KeysFirstPaginator(records, PAGE_SIZE, count_with_ids=searching, rows=rows)
    page = paginator.get_page(page_param(request.GET))
    keep = request.GET.copy()
    keep.pop("page", None)
    unsorted = keep.copy()
    unsorted.pop("sort", None)
    return render(
        request,
        f"records/{module}_list.html",
        {
            "page": page,
            "rows": _contact_rows(request, page.object_list) if module == "contacts" else None,
            "query": query,
            "chosen": chosen,
            "sort": sort,
            "sorts": SORTS[module],
            "module": module,
            "querystring": keep.urlencode(),
            "unsorted_querystring": unsorted.urlencode(),
            "subscriptions": Contact.Subscription.choices,
            "bulk_limit": BULK_LIMIT,
            **_pickers(request, chosen),
        },
    )


def record_detail(request, module, pk, note_body="", note_errors=()):
    record = _record(request, module, pk)
    related = None
    if module == "accounts":
        related = (
            contacts_visible_to(membership=request.membership)
            .filter(account=record)
            .order_by("last_name", "first_name")[:50]
        )
    form = RecordForm(org=request.org, module=module, record=record)
    specs = {spec.key: spec for spec in form.specs}  # family name first in Japanese
    shown = [
        (form.fields[key].label, _display(form, specs[key], record))
        for key in family_name_field_first(list(specs))
    ]
    return render(
        request,
        "records/record_detail.html",
        {
            "record": record,
            "module": module,
            "fields": shown,
            "related": related,
            "history": record_history(record=record),
            # Notes and attachments (POR-7); a refused note comes back with its text.
            "notes": record_notes(org=request.org, module=module, record_id=record.pk),
            "attachments": record_attachments(org=request.org, module=module, record_id=record.pk),
            "note_body": note_body,
            "note_errors": note_errors,
            "note_max": NOTE_MAX_CHARS,
            # The mail add-on (MAIL-5): linked messages the viewer may read.
            "mail_messages": record_messages(
                org=request.org, module=module, record=record, viewer=request.membership
            ),
        },
    )


def _display(form, spec, record):
    value = (record.custom or {}).get(spec.key) if spec.custom else getattr(record, spec.key)
    choices = dict(getattr(form.fields[spec.key], "choices", []) or [])
    if isinstance(value, list):
        return ", ".join(str(choices.get(v, v)) for v in value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if spec.key == "country" and value:
        return country_name(value)
    return choices.get(value, value) if value not in (None, "") else ""


def record_form(request, module, pk=None):
    record = _record(request, module, pk) if pk else None
    _require(request, module, "edit" if record else "create")
    form = RecordForm(
        request.POST or None,
        org=request.org,
        module=module,
        record=record,
        creator=request.membership,
    )
    if request.method == "POST" and form.is_valid():
        try:
            if record is None:
                record = record_create(
                    org=request.org,
                    actor=request.membership,
                    module=module,
                    data=form.data_for_service(),
                )
                messages.success(request, _("%(name)s created.") % {"name": record})
            elif (
                record_update(record=record, actor=request.membership, data=form.data_for_service())
                is None
            ):
                messages.info(request, _("Nothing changed."))
            else:
                messages.success(request, _("%(name)s saved.") % {"name": record})
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect(
                f"{module[:-1]}_detail", org_slug=request.org.slug, **{PK[module]: record.pk}
            )
    return render(
        request, "records/record_form.html", {"form": form, "record": record, "module": module}
    )


def record_delete_view(request, module, pk):
    record = _record(request, module, pk)
    _require(request, module, "delete")
    if request.method == "POST":
        name = str(record)
        record_delete(record=record, actor=request.membership)
        messages.success(request, _("%(name)s was deleted.") % {"name": name})
        return redirect(f"{module[:-1]}_list", org_slug=request.org.slug)
    return render(request, "records/record_delete.html", {"record": record, "module": module})


BULK_FIELDS = ("owner", "subscription")
# "All N matching the filter" changes at most this many contacts in one request.
BULK_LIMIT = 1000


def _bulk_selection(request):
    """The contacts a bulk action applies to, or a message saying why none: the ticked rows,
    or every contact matching the list's filter when "all matching" was chosen — refused
    when the list no longer holds the number of contacts the person saw, or holds more than
    BULK_LIMIT (issue 11)."""
    visible = contacts_visible_to(membership=request.membership)
    if text_param(request.POST, "all_matching") != "1":
        return list(visible.filter(pk__in=id_list_param(request.POST.getlist("contacts")))), ""
    params = QueryDict(text_param(request.POST, "query", max_length=2000))
    records = _filtered(params, request.membership, "contacts")[0]
    seen = int_param(request.POST, "expected_count", minimum=0)
    count = records.count()
    if count > BULK_LIMIT:
        return [], _("At most %(limit)s contacts can be changed at once; narrow the filter.") % {
            "limit": BULK_LIMIT
        }
    if seen != count:
        return [], _(
            "The list changed since you loaded it: %(count)s contacts match now, not %(seen)s. "
            "Check the list and try again."
        ) % {"count": count, "seen": seen if seen is not None else "?"}
    return list(records), ""


def contacts_bulk_selection(request):
    """The contacts a bulk action of another app applies to (portal invitations, POR-3), with
    the same stale-count guard and cap: (contacts, refusal)."""
    return _bulk_selection(request)


@require_POST
def contacts_bulk_update(request, org_slug):
    """The same change to the selected contacts the member may see: one event per contact
    that changed (REC-3)."""
    _require(request, "contacts", "edit")
    field = text_param(request.POST, "field")
    back = redirect(
        f"/o/{request.org.slug}/contacts/?{text_param(request.POST, 'query', max_length=2000)}"
    )
    chosen, refusal = _bulk_selection(request)
    if refusal:
        messages.error(request, refusal)
        return back
    if field not in BULK_FIELDS or not chosen:
        messages.error(request, _("Select contacts and what to change."))
        return back
    try:
        changed = records_bulk_update(
            org=request.org,
            actor=request.membership,
            module="contacts",
            records=chosen,
            data={field: request.POST.get(field, "")},
        )
    except ValidationError as error:
        messages.error(request, "; ".join(m for ms in error.message_dict.values() for m in ms))
    else:
        messages.success(
            request,
            ngettext("%(count)s contact changed.", "%(count)s contacts changed.", changed)
            % {"count": changed},
        )
    return back


# --- the pages of each module: thin views over the shared ones above -------------------------


@require_GET
def contact_list(request, org_slug):
    return record_list(request, "contacts")


@require_http_methods(["GET", "POST"])
def contact_create(request, org_slug):
    return record_form(request, "contacts")


@require_GET
def contact_detail(request, org_slug, contact_pk):
    return record_detail(request, "contacts", contact_pk)


@require_http_methods(["GET", "POST"])
def contact_edit(request, org_slug, contact_pk):
    return record_form(request, "contacts", contact_pk)


@require_http_methods(["GET", "POST"])
def contact_delete(request, org_slug, contact_pk):
    return record_delete_view(request, "contacts", contact_pk)


@require_GET
def account_list(request, org_slug):
    return record_list(request, "accounts")


@require_http_methods(["GET", "POST"])
def account_create(request, org_slug):
    return record_form(request, "accounts")


@require_GET
def account_detail(request, org_slug, account_pk):
    return record_detail(request, "accounts", account_pk)


@require_http_methods(["GET", "POST"])
def account_edit(request, org_slug, account_pk):
    return record_form(request, "accounts", account_pk)


@require_http_methods(["GET", "POST"])
def account_delete(request, org_slug, account_pk):
    return record_delete_view(request, "accounts", account_pk)
