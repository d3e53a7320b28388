"""The pages every org-scoped access object has: its list, a create/edit form and a
confirm-delete page. Profiles, roles and territories (users/views/access.py) all follow the same
flow, so it is written once here and each kind says only what is its own; the views in
access.py guard each page and call it."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form

from ..models import Organization


def actor_arguments(request) -> dict:
    """The org, acting member and address that every access service takes."""
    return {"org": request.org, "actor": request.membership, "ip": client_ip(request)}


@dataclass(frozen=True)
class AccessObjectPages:
    """List, create/edit and confirm-delete pages of one kind of org-scoped access object.

    - The list renders `users/access/<kind>_list.html` with `list_context(request)`.
    - The form page renders `<kind>_form.html`; a valid POST calls `save` with the form's data
      (as `save_arguments` maps it) and goes back to the list with `created` or `saved`, while a
      refusal shows on the form.
    - The delete page renders `<kind>_confirm_delete.html` for the row from `rows_to_delete`; a
      POST calls `delete` and goes back to the list with `deleted`, while a refusal shows on the
      page.

    `kind` ("profile") also names the list URL (`profile_list`), the template variable holding
    the object and the services' keyword for it. The edit and delete pages 404 a row of another
    org. The caller guards the pages: permission, then HTTP methods.
    """

    kind: str
    section: str  # the tab of users/access/_subnav.html these pages light up
    rows: Callable[[Organization], QuerySet]  # the org's rows of this kind
    list_context: Callable[[HttpRequest], dict]
    form: Callable[[dict | None, Organization, Model | None], forms.Form]  # (data, org, object)
    save: Callable[..., Model]
    save_arguments: Callable[[dict], dict]  # cleaned data -> the save service's own keywords
    delete: Callable[..., None]
    rows_to_delete: Callable[[QuerySet], QuerySet]  # adds what the confirm page shows
    created: Promise  # messages taking %(name)s
    saved: Promise
    deleted: Promise
    # For kinds that form a tree: the parent a new object's form starts with.
    initial_parent: Callable[[HttpRequest], Model | None] | None = None

    def list_page(self, request) -> HttpResponse:
        context = {**self.list_context(request), "section": self.section}
        return render(request, f"users/access/{self.kind}_list.html", context)

    def create_page(self, request) -> HttpResponse:
        return self._form_page(request, None)

    def edit_page(self, request, pk: int) -> HttpResponse:
        obj = get_object_or_404(self.rows(request.org), pk=pk)
        return self._form_page(request, obj)

    def _form_page(self, request, obj: Model | None) -> HttpResponse:
        form = self.form(request.POST or None, request.org, obj)
        if obj is None and not form.is_bound and self.initial_parent is not None:
            parent = self.initial_parent(request)
            form.initial["parent"] = parent.pk if parent else None
        if request.method == "POST" and form.is_valid():
            try:
                saved = self.save(
                    **actor_arguments(request),
                    **{self.kind: obj},
                    **self.save_arguments(form.cleaned_data),
                )
            except ActionRefused as refusal:
                refusal_to_form(form, refusal)
            else:
                done = self.saved if obj else self.created
                messages.success(request, done % {"name": saved})
                return redirect(f"{self.kind}_list", org_slug=request.org.slug)
        context = {"form": form, self.kind: obj, "section": self.section}
        return render(request, f"users/access/{self.kind}_form.html", context)

    def delete_page(self, request, pk: int) -> HttpResponse:
        rows = self.rows_to_delete(self.rows(request.org))
        obj = get_object_or_404(rows, pk=pk)
        error = None
        if request.method == "POST":
            try:
                self.delete(**actor_arguments(request), **{self.kind: obj})
            except ActionRefused as refusal:
                error = refusal.message
            else:
                messages.success(request, self.deleted % {"name": obj})
                return redirect(f"{self.kind}_list", org_slug=request.org.slug)
        context = {self.kind: obj, "error": error, "section": self.section}
        return render(request, f"users/access/{self.kind}_confirm_delete.html", context)
