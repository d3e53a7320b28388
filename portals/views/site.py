"""The portal site (POR-7): sign-in, home, lists, details, create and edit of the records a
portal user's group shares. Access: portals.site_access; what is reached: portals.site."""

import re

from allauth.account.forms import LoginForm
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from crm_portal.forms import SectionedForm
from crm_portal.params import page_param, sort_param, text_param
from records.forms import formfield_for
from records.notes import NOTE_MAX_CHARS
from records.views.notes import attachment_response

from .. import site
from ..site_access import not_found_page, portal_or_404, portal_page, portal_public
from .profile import mfa_stage_url

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
FALLBACK_COLOURS = {"primary": "#2563eb", "background": "#f5f7fb"}


def _home_url(portal) -> str:
    return reverse("portal_home", kwargs={"portal_slug": portal.slug})


def _safe_next(request, portal) -> str:
    """A `next` inside this portal, else the portal's home (no open redirect)."""
    next_url = text_param(request.POST, "next", max_length=2000) or text_param(
        request.GET, "next", max_length=2000
    )
    allowed = url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if allowed and next_url.startswith(_home_url(portal)):
        return next_url
    return _home_url(portal)


def _colour(value: str, fallback: str) -> str:
    return value if COLOUR.fullmatch(value or "") else fallback


@require_GET
@cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)
def portal_theme(request, portal_slug: str):
    """The portal's colours as CSS custom properties (POR-1): a stylesheet, since the
    Content-Security-Policy forbids inline styles. Pages link it with the portal's change
    time in the query, so the long cache never shows old colours."""
    portal = portal_or_404(portal_slug)
    primary = _colour(portal.primary_colour, FALLBACK_COLOURS["primary"])
    background = _colour(portal.background_colour, FALLBACK_COLOURS["background"])
    css = (
        f".portal-site {{ --portal-primary: {primary}; --portal-background: {background};"
        f" --accent: {primary}; --bg: {background}; }}\n"
    )
    return HttpResponse(css, content_type="text/css; charset=utf-8")


@portal_public
def portal_login(request, portal, portal_user):
    """Email and password through allauth (its rate limits; its two-factor stage when the
    account has TOTP), for the portal users of this portal only (POR-1, POR-7, X-2)."""
    if request.user.is_authenticated:
        if portal_user is not None:
            return HttpResponseRedirect(_safe_next(request, portal))
        return render(request, "portals/site/not_member.html", {"portal": portal}, status=403)
    form = LoginForm(data=request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        member = site.may_sign_in(portal, form.user)
        if member:
            response = form.login(request, redirect_url=_safe_next(request, portal))
            return mfa_stage_url(portal, response)  # two-factor on the portal's page
        # The same words as a wrong password: the page tells nobody who has an account.
        form.add_error(None, _("The email address and/or password you specified are not correct."))
    context = {"portal": portal, "form": form, "next": _safe_next(request, portal)}
    return render(request, "portals/site/login.html", context)


@require_POST
@portal_public
def portal_logout(request, portal, portal_user):
    logout(request)
    return HttpResponseRedirect(reverse("portal_login", kwargs={"portal_slug": portal.slug}))


@require_POST
@portal_public
def portal_language(request, portal, portal_user):
    """The language switch: one of the portal's languages, kept on the portal user (and in
    the language cookie, which the sign-in page follows)."""
    language = text_param(request.POST, "language")
    response = HttpResponseRedirect(_safe_next(request, portal))
    if portal.offers(language) and language in dict(settings.LANGUAGES):
        if portal_user is not None:
            site.portal_user_language_set(portal_user, language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _context(portal, portal_user, **more) -> dict:
    modules = site.shared_modules(portal_user)
    return {"portal": portal, "portal_user": portal_user, "modules": modules, **more}


@portal_page
def portal_home(request, portal, portal_user):
    return render(request, "portals/site/home.html", _context(portal, portal_user))


@portal_page
def portal_record_list(request, portal, portal_user, module: str):
    shared = site.shared_module(portal_user, module)
    if shared is None:
        return not_found_page(request, portal, portal_user)
    search = text_param(request.GET, "q", max_length=site.MAX_SEARCH)
    sortable = site.sortable_keys(shared)
    sort = sort_param(request.GET, [*sortable, *(f"-{key}" for key in sortable)], "")
    records = site.record_list(portal_user, shared, search=search, sort=sort)
    page = Paginator(records, site.PAGE_SIZE).get_page(page_param(request.GET))
    rows = [(record, site.shown_values(record, shared)) for record in page.object_list]
    columns = [
        (spec, spec.key in sortable, f"-{spec.key}" if sort == spec.key else spec.key)
        for spec in shared.shown
    ]
    querystring = urlencode({k: v for k, v in (("q", search), ("sort", sort)) if v})
    context = _context(
        portal,
        portal_user,
        module=shared,
        module_label=site.module_label(module),
        page=page,
        rows=rows,
        columns=columns,
        search=search,
        sort=sort,
        querystring=querystring,
    )
    return render(request, "portals/site/record_list.html", context)


def _record(request, portal, portal_user, module: str, pk: int):
    shared = site.shared_module(portal_user, module)
    record = site.record_detail(portal_user, shared, pk) if shared else None
    return shared, record


class NoteForm(forms.Form):
    """A note from the portal (POR-7); the service checks its length and says so."""

    body = forms.CharField(
        label=gettext_lazy("New note"),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX_CHARS}),
        strip=False,
    )


class UploadForm(forms.Form):
    """A file from the portal (POR-7); the service checks its size and content."""

    file = forms.FileField(label=gettext_lazy("File"))


def _detail_page(request, portal, portal_user, shared, record, *, note_form=None, upload_form=None):
    context = _context(
        portal,
        portal_user,
        module=shared,
        module_label=site.module_label(shared.key),
        record=record,
        title=site.record_title(record, shared),
        values=site.shown_values(record, shared),
        notes=site.record_notes(portal_user, shared, record),
        attachments=site.record_attachments(portal_user, shared, record),
        note_form=(note_form or NoteForm()) if shared.can_note else None,
        upload_form=(upload_form or UploadForm()) if shared.can_attach else None,
    )
    return render(request, "portals/site/record_detail.html", context)


@portal_page
def portal_record_detail(request, portal, portal_user, module: str, pk: int):
    shared, record = _record(request, portal, portal_user, module, pk)
    if record is None:
        return not_found_page(request, portal, portal_user)
    return _detail_page(request, portal, portal_user, shared, record)


def _to_detail(portal, shared, record):
    return redirect(
        "portal_record_detail", portal_slug=portal.slug, module=shared.key, pk=record.pk
    )


@require_POST
@portal_page
def portal_note_add(request, portal, portal_user, module: str, pk: int):
    """POR-7: only where the group has "notes" on the module (404 otherwise)."""
    shared, record = _record(request, portal, portal_user, module, pk)
    if record is None or not shared.can_note:
        return not_found_page(request, portal, portal_user)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            site.portal_note_add(portal_user, shared, record, form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error("body", error.message_dict.get("body") or error.messages)
        except PermissionDenied:
            return not_found_page(request, portal, portal_user)
        else:
            messages.success(request, _("Note added."))
            return _to_detail(portal, shared, record)
    return _detail_page(request, portal, portal_user, shared, record, note_form=form)


@require_POST
@portal_page
def portal_attachment_add(request, portal, portal_user, module: str, pk: int):
    """POR-7: only where the group has "attachments" on the module (404 otherwise)."""
    shared, record = _record(request, portal, portal_user, module, pk)
    if record is None or not shared.can_attach:
        return not_found_page(request, portal, portal_user)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            site.portal_attachment_add(portal_user, shared, record, form.cleaned_data["file"])
        except ValidationError as error:
            form.add_error("file", error.message_dict.get("file") or error.messages)
        except PermissionDenied:
            return not_found_page(request, portal, portal_user)
        else:
            messages.success(request, _("File attached."))
            return _to_detail(portal, shared, record)
    return _detail_page(request, portal, portal_user, shared, record, upload_form=form)


@require_GET
@portal_page
def portal_attachment_download(request, portal, portal_user, module: str, pk: int, att_pk: int):
    """POR-7: a record's file, to the portal users who may see the record (404 otherwise)."""
    shared = site.shared_module(portal_user, module)
    attachment = site.record_attachment(portal_user, shared, pk, att_pk) if shared else None
    if attachment is None:
        return not_found_page(request, portal, portal_user)
    return attachment_response(attachment)


class PortalRecordForm(SectionedForm, forms.Form):
    """The group's editable fields of a module; the services validate every value."""

    def __init__(self, *args, module, record=None, legend="", **kwargs):
        super().__init__(*args, **kwargs)
        self.specs = module.editable
        self.sections = [(legend, [spec.key for spec in self.specs])]
        for spec in self.specs:
            self.fields[spec.key] = formfield_for(spec)
        if record is not None and not self.is_bound:
            self.initial.update({spec.key: value for spec, value in _values(record, module)})

    def shows_required(self, name: str) -> bool:
        return any(spec.key == name and spec.required for spec in self.specs)

    def add_service_errors(self, error: ValidationError) -> None:
        for key, problems in error.message_dict.items():
            self.add_error(key if key in self.fields else None, problems)


def _values(record, module):
    custom = record.custom or {}
    return [
        (spec, custom.get(spec.key) if spec.custom else getattr(record, spec.key))
        for spec in module.editable
    ]


def _form_page(request, portal, portal_user, shared, record):
    legend = site.module_label(shared.key)
    form = PortalRecordForm(request.POST or None, module=shared, record=record, legend=legend)
    if request.method == "POST" and form.is_valid():
        try:
            if record is None:
                record = site.portal_record_create(portal_user, shared, dict(form.cleaned_data))
                messages.success(request, _("Saved."))
            else:
                site.portal_record_update(portal_user, shared, record, dict(form.cleaned_data))
                messages.success(request, _("Your changes are saved."))
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if site.record_detail(portal_user, shared, record.pk) is None:
                return redirect("portal_record_list", portal_slug=portal.slug, module=shared.key)
            return redirect(
                "portal_record_detail", portal_slug=portal.slug, module=shared.key, pk=record.pk
            )
    title = site.record_title(record, shared) if record is not None else ""
    context = _context(
        portal,
        portal_user,
        module=shared,
        module_label=legend,
        record=record,
        title=title,
        form=form,
    )
    return render(request, "portals/site/record_form.html", context)


@portal_page
def portal_record_create(request, portal, portal_user, module: str):
    shared = site.shared_module(portal_user, module)
    if shared is None or not shared.can_create:
        return not_found_page(request, portal, portal_user)
    try:
        return _form_page(request, portal, portal_user, shared, None)
    except PermissionDenied:
        return not_found_page(request, portal, portal_user)


@portal_page
def portal_record_edit(request, portal, portal_user, module: str, pk: int):
    shared, record = _record(request, portal, portal_user, module, pk)
    if record is None or not shared.can_edit:
        return not_found_page(request, portal, portal_user)
    try:
        return _form_page(request, portal, portal_user, shared, record)
    except PermissionDenied:
        return not_found_page(request, portal, portal_user)
