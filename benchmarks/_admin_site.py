"""Django's admin over the benchmark's org, for benchmarks/lists_vs_admin.py only (issue 21).

The changelists of Contact, Account and CrmUser do the work the app's list pages do: the
same org (the org's django-scopes scope, as the app's TenantMiddleware sets it: every query
of a scoped model is narrowed to the org), the same order, 25 rows a page, the related rows
read in the same statement (list_select_related), search on the same columns.

A second site (/bench-admin-portal/) holds the counterpart of the portal site's record list
(POR-7): the Contact changelist with the portal page's columns, order and page size, filtered
by the reader's account as the "account" scope filters, and without the unfiltered count the
portal page does not make (see lists_vs_admin.py's docstring).

Also: the URLconf of the benchmark's settings (the app's URLs plus /bench-admin/), and a
middleware that counts the SQL statements of a request into the X-Bench-Statements header,
for both sides alike.
"""

import os

from django.contrib import admin
from django.db import connection
from django.urls import path
from django_scopes import scope, scopes_disabled

from crm_portal.urls import urlpatterns as app_urlpatterns
from portals.models import FailedInvitation, PortalUser
from records.models import Account, Contact
from users.models import CrmUser, Organization

ADMIN_PREFIX = "/bench-admin/"
PORTAL_ADMIN_PREFIX = "/bench-admin-portal/"

site = admin.AdminSite(name="bench_admin")
portal_site = admin.AdminSite(name="bench_admin_portal")


@admin.register(Contact, site=site)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "account", "subscription", "country", "owner", "created_at")
    list_select_related = ("owner", "account")
    list_filter = ("subscription",)
    search_fields = ("first_name", "last_name", "email")
    ordering = ("last_name", "first_name", "pk")
    list_per_page = 25


@admin.register(Account, site=site)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "website", "industry", "country", "owner", "created_at")
    list_select_related = ("owner",)
    search_fields = ("name", "website")
    ordering = ("name", "pk")
    list_per_page = 25


@admin.register(CrmUser, site=site)
class CrmUserAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "role", "profile", "status")
    list_select_related = ("profile", "role")
    list_filter = ("status",)
    search_fields = ("first_name", "last_name", "email")
    ordering = ("last_name", "first_name", "pk")
    list_per_page = 25


@admin.register(PortalUser, site=site)
class PortalUserAdmin(admin.ModelAdmin):
    """The portal's Users tab (issue 12) shows 25 a page (50 before issue 21's lists-p95),
    newest first."""

    list_display = ("email", "contact", "group", "status", "created_at")
    list_select_related = ("contact", "group", "invitation")
    list_filter = ("status", "portal")
    search_fields = ("email",)
    ordering = ("-created_at", "-pk")
    list_per_page = 25


@admin.register(FailedInvitation, site=site)
class FailedInvitationAdmin(admin.ModelAdmin):
    """A portal's Failed invitations tab (issue 13, AUT-7): 50 a page, newest first."""

    list_display = ("record_name", "email", "failed_at", "reason")
    list_filter = ("reason", "portal")
    ordering = ("-failed_at", "-pk")
    list_per_page = 50


@admin.register(Contact, site=portal_site)
class PortalContactAdmin(admin.ModelAdmin):
    """The portal site's contact list as a portal user of the "account" scope reads it:
    their account's contacts (?account__id__exact=), 25 a page, last name, first name, pk."""

    list_display = ("last_name", "first_name", "email", "phone", "country")
    ordering = ("last_name", "first_name", "pk")
    list_per_page = 25
    show_full_result_count = False


urlpatterns = [
    *app_urlpatterns,
    path(ADMIN_PREFIX.strip("/") + "/", site.urls),
    path(PORTAL_ADMIN_PREFIX.strip("/") + "/", portal_site.urls),
]


class BenchMiddleware:
    """Counts the statements of every request (X-Bench-Statements); runs the admin's pages
    inside the benchmark org's scope, as TenantMiddleware runs the app's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        statements = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            if request.path_info.startswith((ADMIN_PREFIX, PORTAL_ADMIN_PREFIX)):
                with scopes_disabled():
                    org = Organization.objects.get(slug=os.environ["BENCH_ORG_SLUG"])
                with scope(org=org):
                    response = self.get_response(request)
            else:
                response = self.get_response(request)
        response["X-Bench-Statements"] = str(len(statements))
        return response
