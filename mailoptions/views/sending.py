"""Sending an email to a contact from their page (MAIL-5): whoever sees the contact."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm_portal.exceptions import ActionRefused
from crm_portal.http import refusal_to_form
from records.selectors import contacts_visible_to

from ..forms import ContactEmailForm
from ..sending import contact_email_send


@require_http_methods(["GET", "POST"])
def mail_contact_send(request, org_slug, contact_pk):
    contact = contacts_visible_to(membership=request.membership).filter(pk=contact_pk).first()
    if contact is None:
        raise Http404
    form = ContactEmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_email_send(
                org=request.org, actor=request.membership, contact=contact, **form.cleaned_data
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(
                request, _("Your email to %(name)s is on its way.") % {"name": contact}
            )
            return redirect("contact_detail", org_slug=request.org.slug, contact_pk=contact.pk)
    return render(request, "mailoptions/contact_send.html", {"contact": contact, "form": form})
