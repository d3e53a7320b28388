from celery import Task
from django.apps import apps
from django.conf import settings
from django_scopes import scope, scopes_disabled

from .exceptions import DATABASE_AWAY


class TenantTask(Task):
    """A task whose first argument is an org id: its body runs inside that org's scope,
    as a request's view does (pretix's event task). The kernel knows the tenant model only by
    the TENANT_MODEL setting, so it imports no app."""

    def __call__(self, org_id, *args, **kwargs):
        try:
            with scopes_disabled():
                org = apps.get_model(settings.TENANT_MODEL).objects.get(pk=org_id)
        except DATABASE_AWAY as error:
            # The database restarts or fails over: not the task's fault, so try again later
            # rather than lose the task (issue 16 drill).
            raise self.retry(exc=error, countdown=min(2**self.request.retries, 30)) from error
        with scope(org=org):
            return super().__call__(org_id, *args, **kwargs)
