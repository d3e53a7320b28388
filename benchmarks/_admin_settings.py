"""Settings of benchmarks/lists_vs_admin.py only: the app's settings plus Django's admin
(benchmarks/_admin_site.py) and a statement counter. Never used by the app itself.
Run with benchmarks/ on sys.path (the benchmark's gunicorn gets --pythonpath)."""

from crm_portal.settings import *  # noqa: F403
from crm_portal.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = ["django.contrib.admin", *INSTALLED_APPS]
# Outermost, so that it counts every statement of the request, the session's included.
MIDDLEWARE = ["_admin_site.BenchMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "_admin_site"
