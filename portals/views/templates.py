"""Email templates of a portal (POR-6), for members with Manage Portals: the list of kinds ×
languages, the editor with its merge-field picker and live preview, a test email to oneself,
and reset to default."""

import re

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm_portal.http import client_ip
from crm_portal.params import text_param
from records.selectors import contacts_visible_to
from users import permissions
from users.decorators import permission_required

from ..default_emails import EMAIL_LANGUAGES
from ..emails import (
    KINDS,
    MAX_BODY_BYTES,
    content_for,
    content_of,
    default_content,
    email_template_save,
    email_template_test_send,
    email_template_warnings,
    merge_fields,
    render_preview,
    verified_sender_choices,
)
from ..emails import email_template_reset as template_reset
from ..forms_templates import EmailTemplateForm, initial_of
from ..models import EmailTemplate, Portal

manage_portals = permission_required(permissions.MANAGE_PORTALS)
PREVIEW_CONTACTS = 20
PK = re.compile(r"[0-9]{1,9}")


def portal_of(request, portal_pk: int) -> Portal:
    return get_object_or_404(Portal.objects.filter(org=request.org), pk=portal_pk)


def portal_languages(portal: Portal) -> list[str]:
    """The languages whose emails the portal sends: those it offers, its default first."""
    languages = [portal.default_language] + [
        code for code in portal.languages if code != portal.default_language
    ]
    return [code for code in languages if code in EMAIL_LANGUAGES]


def template_target(request, portal_pk: int, kind: str, language: str):
    """(portal, kind, language, group) from the URL and `?group=`; 404 for anything else."""
    portal = portal_of(request, portal_pk)
    if kind not in KINDS or language not in portal_languages(portal):
        raise Http404
    posted = posted_data(request) or {}
    group_pk = text_param(request.GET, "group", max_length=12) or posted.get("group", "")
    group = None
    if group_pk:
        if not PK.fullmatch(str(group_pk)):
            raise Http404
        group = get_object_or_404(portal.groups.all(), pk=int(group_pk))
    return portal, kind, language, group


def posted_data(request):
    """The POST data, or None when the request was too big for Django to read (a body of
    megabytes): the page then says so instead of failing."""
    if request.method != "POST" or getattr(request, "post_too_big", False):
        return None
    try:
        return request.POST
    except RequestDataTooBig:  # Django reads it once; later reads would look empty
        request.post_too_big = True
        return None


NONCE = re.compile(r"[A-Za-z0-9+/=_-]{8,64}")


def nonce_of(request, posted=None) -> str:
    """The CSP nonce the preview frame's <style> carries (portals.emails): the page's own.
    A live preview is swapped into a page loaded earlier, whose policy the frame inherits,
    so the editor sends that page's nonce along; it only ever marks our layout's style."""
    sent = (posted or {}).get("preview_nonce", "")
    if isinstance(sent, str) and NONCE.fullmatch(sent):
        return sent
    nonce = getattr(request, "csp_nonce", None)  # lazy; its truth says "evaluated yet"
    return "" if nonce is None else str(nonce)


def too_big_message() -> str:
    return _("The body is too long: at most %(size)d KB.") % {"size": MAX_BODY_BYTES // 1024}


@manage_portals
def email_template_list(request, org_slug, portal_pk):
    portal = portal_of(request, portal_pk)
    customised = set(
        EmailTemplate.objects.filter(portal=portal, group__isnull=True).values_list(
            "kind", "language"
        )
    )
    overrides = list(
        EmailTemplate.objects.filter(portal=portal, group__isnull=False)
        .select_related("group")
        .order_by("kind", "language", "group__name")
    )
    rows = [
        {
            "kind": kind,
            "kind_label": label,
            "languages": [
                {
                    "code": code,
                    "name": EMAIL_LANGUAGES[code],
                    "customised": (kind, code) in customised,
                }
                for code in portal_languages(portal)
            ],
        }
        for kind, label in EmailTemplate.Kind.choices
    ]
    return render(
        request,
        "portals/templates/list.html",
        {
            "portal": portal,
            "rows": rows,
            "overrides": overrides,
            "groups": portal.groups.all(),
            "email_template_warnings": email_template_warnings(portal),
        },
    )


def _editor_context(request, portal, kind, language, group, form):
    return {
        "portal": portal,
        "kind": kind,
        "kind_label": EmailTemplate.Kind(kind).label,
        "language": language,
        "language_name": EMAIL_LANGUAGES[language],
        "group": group,
        "form": form,
        "customised": own_template(portal, kind, language, group) is not None,
        "merge_fields": merge_fields(request.org),
        "preview_contacts": contacts_visible_to(membership=request.membership).order_by(
            "last_name", "first_name", "pk"
        )[:PREVIEW_CONTACTS],
        "query": f"?group={group.pk}" if group else "",
    }


def own_template(portal, kind, language, group) -> EmailTemplate | None:
    """The template of exactly this language and group (None: the portal's own)."""
    return EmailTemplate.objects.filter(
        portal=portal, kind=kind, language=language, group=group
    ).first()


def _saved_content(portal, kind, language, group):
    template = own_template(portal, kind, language, group)
    if template is not None:
        return content_of(template)
    if group is not None:  # a group's override starts from what the group gets today
        return content_for(portal, kind, language, group)
    return default_content(kind, language)


@manage_portals
@require_http_methods(["GET", "POST"])
def email_template_edit(request, org_slug, portal_pk, kind, language):
    portal, kind, language, group = template_target(request, portal_pk, kind, language)
    content = _saved_content(portal, kind, language, group)
    data = posted_data(request)
    senders = verified_sender_choices(request.org)
    form = EmailTemplateForm(data, initial=initial_of(content), senders=senders)
    if request.method == "POST" and data is None:
        return _too_big(request, portal, kind, language, group, content)
    if data is not None and form.is_valid():
        try:
            email_template_save(
                portal=portal,
                actor=request.membership,
                kind=kind,
                language=language,
                group=group,
                data=form.data_for_service(),
                ip=client_ip(request),
            )
        except ValidationError as problem:
            form.add_error(None, problem)
        else:
            messages.success(request, _("The email template was saved."))
            return redirect(_edit_url(request, portal, kind, language, group))
    context = _editor_context(request, portal, kind, language, group, form)
    context["preview"] = render_preview(portal, content, group, nonce=nonce_of(request))
    return render(request, "portals/templates/edit.html", context)


def _too_big(request, portal, kind, language, group, content):
    senders = verified_sender_choices(request.org)
    form = EmailTemplateForm(initial=initial_of(content), senders=senders)
    context = _editor_context(request, portal, kind, language, group, form)
    context["preview"] = render_preview(portal, content, group, nonce=nonce_of(request))
    context["refusal"] = too_big_message()
    return render(request, "portals/templates/edit.html", context, status=413)


def _edit_url(request, portal, kind, language, group) -> str:
    url = reverse(
        "email_template_edit",
        kwargs={
            "org_slug": request.org.slug,
            "portal_pk": portal.pk,
            "kind": kind,
            "language": language,
        },
    )
    return url + (f"?group={group.pk}" if group else "")


@manage_portals
@require_http_methods(["GET", "POST"])
def email_template_preview(request, org_slug, portal_pk, kind, language):
    """The live preview (htmx): what the form holds now, with sample values or with one of
    the contacts the member may see."""
    portal, kind, language, group = template_target(request, portal_pk, kind, language)
    content = _saved_content(portal, kind, language, group)
    problems = []
    data = posted_data(request)
    if request.method == "POST" and data is None:
        problems = [too_big_message()]
    elif data is not None:
        form = EmailTemplateForm(data)
        if form.is_valid():
            content = form.content(kind, language, content.action)
        else:
            problems = [m for errors in form.errors.values() for m in errors]
    contact = _preview_contact(request, data or request.GET)
    return render(
        request,
        "portals/templates/_preview.html",
        {
            "preview": render_preview(
                portal, content, group, contact, nonce=nonce_of(request, data)
            ),
            "problems": problems,
        },
    )


def _preview_contact(request, params):
    pk = params.get("preview_contact") or ""
    if not PK.fullmatch(pk):
        return None
    return contacts_visible_to(membership=request.membership).filter(pk=int(pk)).first()


@manage_portals
@require_POST
def email_template_test(request, org_slug, portal_pk, kind, language):
    """Send what the form holds (or the saved text) with sample values to the member."""
    portal, kind, language, group = template_target(request, portal_pk, kind, language)
    content = _saved_content(portal, kind, language, group)
    data = posted_data(request)
    if data is None:
        return _too_big(request, portal, kind, language, group, content)
    form = EmailTemplateForm(data, senders=verified_sender_choices(request.org))
    if data.get("subject") is not None:
        if not form.is_valid():
            context = _editor_context(request, portal, kind, language, group, form)
            context["preview"] = render_preview(portal, content, group, nonce=nonce_of(request))
            return render(request, "portals/templates/edit.html", context)
        content = form.content(kind, language, content.action)
    address = email_template_test_send(
        portal=portal, actor=request.membership, content=content, group=group
    )
    messages.success(request, _("A test email is on its way to %(email)s.") % {"email": address})
    return redirect(_edit_url(request, portal, kind, language, group))


@manage_portals
@require_http_methods(["GET", "POST"])
def email_template_reset(request, org_slug, portal_pk, kind, language):
    """Ask first (GET), then drop the customised template (POST)."""
    portal, kind, language, group = template_target(request, portal_pk, kind, language)
    if request.method == "POST":
        reset = template_reset(
            portal=portal,
            actor=request.membership,
            kind=kind,
            language=language,
            group=group,
            ip=client_ip(request),
        )
        if reset:
            messages.success(request, _("The email template is back to its default text."))
        return redirect(_edit_url(request, portal, kind, language, group))
    return render(
        request,
        "portals/templates/reset.html",
        {
            "portal": portal,
            "kind_label": EmailTemplate.Kind(kind).label,
            "language_name": EMAIL_LANGUAGES[language],
            "group": group,
            "edit_url": _edit_url(request, portal, kind, language, group),
        },
    )
