"""API tokens under /o/<org_slug>/settings/api-tokens/ (REC-4): list, create (the secret is
shown on the response page once, never again) and revoke. Administrators only."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from crm_portal.http import client_ip
from users.decorators import admin_required

from .. import api
from ..forms import ApiTokenForm


@admin_required
@require_GET
def api_token_list(request, org_slug):
    tokens = request.org.api_tokens.select_related("created_by").order_by("-created_at", "-pk")
    return render(request, "records/api_tokens/list.html", {"tokens": tokens})


@admin_required
@require_http_methods(["GET", "POST"])
@never_cache  # the response to the POST carries the secret
def api_token_create(request, org_slug):
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = api.api_token_create(
                org=request.org,
                actor=request.membership,
                name=form.cleaned_data["name"],
                ip=client_ip(request),
            )
        except ValidationError as error:
            form.add_error("name", error.message_dict.get("name", error.messages))
        else:
            api_root = request.build_absolute_uri(reverse("api_contacts"))
            return render(
                request,
                "records/api_tokens/created.html",
                {"token": token, "secret": secret, "api_root": api_root},
            )
    return render(request, "records/api_tokens/form.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def api_token_revoke(request, org_slug, token_pk):
    token = get_object_or_404(request.org.api_tokens, pk=token_pk)
    if request.method == "POST":
        api.api_token_revoke(
            org=request.org, actor=request.membership, token=token, ip=client_ip(request)
        )
        messages.success(request, _("The token %(name)s was revoked.") % {"name": token.name})
        return redirect("api_token_list", org_slug=org_slug)
    return render(request, "records/api_tokens/revoke.html", {"token": token})
