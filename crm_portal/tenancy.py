from celery import Task
from django_scopes import scope, scopes_disabled

from users.models import Organization


class TenantTask(Task):
    """A task whose first argument is an org id: its body runs inside that org's scope,
    as a request's view does (pretix's event task)."""

    def __call__(self, org_id, *args, **kwargs):
        with scopes_disabled():
            org = Organization.objects.get(pk=org_id)
        with scope(org=org):
            return super().__call__(org_id, *args, **kwargs)
