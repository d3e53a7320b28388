from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from users.decorators import permission_required
from users.permissions import record_permission

from .forms import ContactForm
from .selectors import contact_history, contacts_visible_to
from .services import contact_create, contact_update

PAGE_SIZE = 25


@require_GET
def contact_list(request, org_slug):
    contacts = (
        contacts_visible_to(membership=request.membership)
        .select_related("owner")
        .order_by("last_name", "first_name", "pk")
    )
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "records/contact_list.html", {"page": page})


@permission_required(record_permission("contacts", "create"))
@require_http_methods(["GET", "POST"])
def contact_create_view(request, org_slug):
    form = ContactForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        contact = contact_create(org=request.org, actor=request.membership, data=form.cleaned_data)
        messages.success(request, _("Contact %(name)s created.") % {"name": contact})
        return redirect("contact_detail", org_slug=org_slug, contact_pk=contact.pk)
    return render(request, "records/contact_form.html", {"form": form})


@require_GET
def contact_detail(request, org_slug, contact_pk):
    contact = get_object_or_404(
        contacts_visible_to(membership=request.membership).select_related("owner"), pk=contact_pk
    )
    history = contact_history(contact=contact)
    return render(request, "records/contact_detail.html", {"contact": contact, "history": history})


@permission_required(record_permission("contacts", "edit"))
@require_http_methods(["GET", "POST"])
def contact_edit(request, org_slug, contact_pk):
    contact = get_object_or_404(contacts_visible_to(membership=request.membership), pk=contact_pk)
    form = ContactForm(request.POST or None, instance=contact, org=request.org)
    if request.method == "POST" and form.is_valid():
        event = contact_update(contact=contact, actor=request.membership, data=form.cleaned_data)
        if event is None:
            messages.info(request, _("Nothing changed."))
        else:
            messages.success(request, _("Contact %(name)s saved.") % {"name": contact})
        return redirect("contact_detail", org_slug=org_slug, contact_pk=contact.pk)
    return render(request, "records/contact_form.html", {"form": form, "contact": contact})


urlpatterns = [
    path("contacts/", contact_list, name="contact_list"),
    path("contacts/new/", contact_create_view, name="contact_create"),
    path("contacts/<int:contact_pk>/", contact_detail, name="contact_detail"),
    path("contacts/<int:contact_pk>/edit/", contact_edit, name="contact_edit"),
]
