"""Settings pages for custom fields and the layout of the record forms (REC-1), under
/o/<org_slug>/settings/fields/. Administrators only. The forms shape the input; the rules
live in records.field_services, which writes the audit entry (USR-9)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form
from crm_portal.params import text_param
from users.decorators import admin_required

from .. import field_services
from .. import fields as types
from ..forms import CustomFieldForm
from ..models import CustomField
from ..modules import standard_specs

MODULES = dict(CustomField.MODULES)
TYPE_LABELS = types.TYPE_LABELS  # the custom types and the standard-only ones (country)
TYPE_HELP = {
    types.TEXT: gettext_lazy("Any text, up to 1,000 characters."),
    types.EMAIL: gettext_lazy("An email address; it is checked when a record is saved."),
    types.PHONE: gettext_lazy("A phone number: digits, spaces and + ( ) . / -."),
    types.PICKLIST: gettext_lazy("One value chosen from the list of choices you give."),
    types.MULTISELECT: gettext_lazy("Any number of values chosen from the list you give."),
    types.NUMBER: gettext_lazy("A whole or decimal number."),
    types.CURRENCY: gettext_lazy("An amount of money, kept with two decimals."),
    types.DATE: gettext_lazy("A calendar date."),
    types.DATETIME: gettext_lazy("A date and a time of day, shown in each user's time zone."),
    types.CHECKBOX: gettext_lazy("Yes or no."),
}


def _module(module: str) -> str:
    if module not in MODULES:
        raise Http404
    return module


def _field(request, module: str, field_pk: int) -> CustomField:
    return get_object_or_404(request.org.custom_fields.filter(module=module), pk=field_pk)


def _actor(request) -> dict:
    return {"org": request.org, "actor": request.membership, "ip": client_ip(request)}


def _page(request, template: str, module: str, **context):
    context.update(
        section="fields",
        module=module,
        module_name=MODULES[module],
        modules=MODULES,
        type_help=[(TYPE_LABELS[code], text) for code, text in TYPE_HELP.items()],
    )
    return render(request, f"records/fields/{template}", context)


def _to_list(request, module: str):
    url = reverse("custom_field_list", kwargs={"org_slug": request.org.slug})
    return redirect(f"{url}?module={module}")


@admin_required
@require_GET
def custom_field_list(request, org_slug):
    module = _module(text_param(request.GET, "module", "contacts"))
    standard = [{"spec": spec, "type": TYPE_LABELS[spec.type]} for spec in standard_specs(module)]
    custom = request.org.custom_fields.filter(module=module).order_by("position", "pk")
    return _page(request, "custom_field_list.html", module, standard=standard, custom_fields=custom)


@admin_required
@require_http_methods(["GET", "POST"])
def custom_field_create(request, org_slug, module):
    module = _module(module)
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            field = field_services.custom_field_create(
                **_actor(request),
                module=module,
                label=form.cleaned_data["label"],
                field_type=form.cleaned_data["field_type"],
                choices=form.choice_lines(),
                required=form.cleaned_data["required"],
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(
                request,
                _("Field %(label)s added to %(module)s.")
                % {"label": field.label, "module": MODULES[module]},
            )
            return _to_list(request, module)
    return _page(request, "custom_field_form.html", module, form=form, field=None)


@admin_required
@require_http_methods(["GET", "POST"])
def custom_field_edit(request, org_slug, module, field_pk):
    field = _field(request, _module(module), field_pk)
    form = CustomFieldForm(request.POST or None, field=field)
    if request.method == "POST" and form.is_valid():
        try:
            field_services.custom_field_update(
                **_actor(request),
                field=field,
                label=form.cleaned_data["label"],
                choices=form.choice_lines(),
                required=form.cleaned_data["required"],
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(
                request, _("Field %(label)s saved.") % {"label": form.cleaned_data["label"]}
            )
            return _to_list(request, module)
    return _page(
        request,
        "custom_field_form.html",
        module,
        form=form,
        field=field,
        type_label=TYPE_LABELS[field.field_type],
    )


@admin_required
@require_http_methods(["GET", "POST"])
def custom_field_delete(request, org_slug, module, field_pk):
    field = _field(request, _module(module), field_pk)
    if request.method == "POST":
        holding = field_services.custom_field_delete(**_actor(request), field=field)
        done = ngettext(
            "Field %(label)s deleted; its value was removed from %(count)s record.",
            "Field %(label)s deleted; its values were removed from %(count)s records.",
            holding,
        )
        messages.success(request, done % {"label": field.label, "count": holding})
        return _to_list(request, module)
    return _page(
        request,
        "custom_field_confirm_delete.html",
        module,
        field=field,
        holding=field_services.records_with_value_count(field),
    )


def _posted_order(request, specs) -> tuple[list[str], dict[str, str]]:
    """The order the admin asked for: by the numbers typed (ties keep the page's order), then
    the up/down button pressed. Also {key: error} for numbers that are not numbers."""
    numbers, errors = {}, {}
    for index, spec in enumerate(specs):
        typed = request.POST.get(f"pos-{spec.key}", "").strip()
        if typed and not typed.isdigit():
            errors[spec.key] = _("Type a whole number, like 3.")
        numbers[spec.key] = (int(typed) if typed.isdigit() else index + 1, index)
    order = sorted(numbers, key=numbers.get)
    direction, _sep, key = request.POST.get("move", "").partition(":")
    if key in order and direction in ("up", "down"):
        at = order.index(key)
        to = at - 1 if direction == "up" else at + 1
        if 0 <= to < len(order):
            order[at], order[to] = order[to], order[at]
    return order, errors


@admin_required
@require_http_methods(["GET", "POST"])
def field_layout(request, org_slug, module):
    module = _module(module)
    specs = field_services.ordered_specs(request.org, module)
    errors, error = {}, None
    if request.method == "POST":
        order, errors = _posted_order(request, specs)
        if not errors:
            try:
                field_services.field_layout_save(**_actor(request), module=module, order=order)
            except ActionRefused as refusal:
                error = refusal.message
            else:
                messages.success(
                    request,
                    _("The order of the %(module)s fields is saved.") % {"module": MODULES[module]},
                )
                return redirect("field_layout", org_slug=org_slug, module=module)
    rows = [
        {
            "spec": spec,
            "type": TYPE_LABELS[spec.type],
            "typed": request.POST.get(f"pos-{spec.key}", index + 1),
            "error": errors.get(spec.key),
        }
        for index, spec in enumerate(specs)
    ]
    return _page(request, "field_layout.html", module, rows=rows, error=error)
