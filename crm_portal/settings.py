"""Settings for crm-portal, read from the environment.

With nothing set, the app runs on the embedded defaults: an SQLite file, a Celery broker on the
filesystem (no server needed) and mail printed to the console. Production sets DATABASE_URL,
REDIS_URL (or CELERY_BROKER_URL), SECRET_KEY, ALLOWED_HOSTS and a mail provider.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_str(name: str, default: str) -> str:
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public address links in mail point to. `make run PORT=8001` (RUN_ADDR) serves elsewhere:
# unless SITE_URL is set, links follow the address the development server listens on.
RUN_ADDR = env_str("RUN_ADDR", "127.0.0.1:8000")
SITE_URL = env_str("SITE_URL", f"http://{RUN_ADDR.replace('0.0.0.0', '127.0.0.1')}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "anymail",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "crm_portal",
    "imports",
    "users",
    "records",
    "portals",
    "invitations",
    "mailoptions",
    "campaigns_users",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm_portal.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "crm_portal.middleware.TenantMiddleware",
    # After the tenant middleware: it reads request.org.
    "users.middleware.IdleTimeoutMiddleware",
]

ROOT_URLCONF = "crm_portal.urls"
WSGI_APPLICATION = "crm_portal.wsgi.application"
ASGI_APPLICATION = "crm_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm_portal.context_processors.tenant",
                "crm_portal.context_processors.csp_nonce",
            ],
        },
    },
]

# Database: PostgreSQL in production and tests, an SQLite file as the embedded default.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'crm_portal.sqlite3'}",
        conn_max_age=int(env_str("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and scheduler share the file: wait for locks and take them up front.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set; otherwise a file cache that every process shares, so
# allauth's rate limits hold across web workers even on the embedded default.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "crm-portal"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email is the login, verification is mandatory, no account enumeration.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[crm-portal] "
ACCOUNT_FORMS = {
    "signup": "users.forms.OrganizationSignupForm",
    "reset_password": "users.forms.PasswordResetForm",
}
ACCOUNT_ADAPTER = "users.adapters.AccountAdapter"
# Links in mail use the scheme of the public address operators set in SITE_URL.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https://") else "http"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "crm-portal"

# Internationalisation
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our own date formats per language (Japanese: YYYY/MM/DD), ahead of Django's.
FORMAT_MODULE_PATH = ["crm_portal.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files are served by the app itself: no CDN anywhere.
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or VAR_DIR / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or VAR_DIR / "media")
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
# Portal logos (POR-1): at most this many bytes.
PORTAL_LOGO_MAX_BYTES = int(env_str("PORTAL_LOGO_MAX_BYTES", str(512 * 1024)))
# Notes and attachments on records (POR-7): an attachment has at most this many bytes.
ATTACHMENT_MAX_BYTES = int(env_str("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))

# Mail: anymail for providers, SMTP or the console for development.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env_str("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "crm-portal <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Temporary mail errors are retried after 30 s, 60 s, 120 s, … (at most an hour apart).
MAIL_RETRY_BASE_SECONDS = int(env_str("MAIL_RETRY_BASE_SECONDS", "30"))
ANYMAIL = {
    key[len("ANYMAIL_") :]: value
    for key, value in os.environ.items()
    if key.startswith("ANYMAIL_") and value
}

# Invitation kinds (DESIGN: Invitations): the value stored in Invitation.kind → its adapter.
# A new membership kind adds one line here and its adapter; the invitation core stays as is.
INVITATION_KINDS = {
    "crm_user": "invitations.crm_users.CrmUserInvitations",
    "portal_user": "portals.invitations.PortalUserInvitations",
    "campaigns_member": "campaigns_users.invitations.CampaignMemberInvitations",
}

# Celery: Redis in production; a filesystem broker by default, which crosses processes.
# The tenant: every tenant-owned row points at one of these (DESIGN: Tenancy).
TENANT_MODEL = "users.Organization"

# Who consumes record events (AUT-8), in order: dotted paths of `consumer(events)` callables,
# handed one org's batch in the worker inside the transaction that marks the events done.
RECORD_EVENT_CONSUMERS: list[str] = ["portals.autoinvite.auto_invite_events_consume"]

# The parts of an organisation's final export (ORG-4), in order: each app adds its own.
ORGANIZATION_EXPORT_SECTIONS = [
    "users.selectors.export_people",
    "records.selectors.export_records",
    "users.selectors.export_audit_log",
]

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The filesystem transport ignores the host; naming one keeps kombu from warning about it.
    if not urlsplit(CELERY_BROKER_URL).hostname:
        CELERY_BROKER_URL = "filesystem://localhost/"
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # kombu keeps its exchange tables in "control_folder", by default ./control: in var/ too.
        "control_folder": str(_broker_dir / "control"),
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The sweeper runs in its own queue (every worker listens to it, see CELERY_TASK_QUEUES), so a
# backlog of events never delays it, and a sweep not started within one interval expires: at
# most one sweep waits at any time (AUT-8).
OUTBOX_SWEEP_QUEUE = "outbox_sweep"
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in ("celery", OUTBOX_SWEEP_QUEUE)
]
CELERY_BEAT_SCHEDULE = {
    "sweep-record-events": {
        "task": "records.tasks.sweep_record_events_task",
        "schedule": timedelta(seconds=int(env_str("OUTBOX_SWEEP_SECONDS", "30"))),
        "options": {
            "queue": OUTBOX_SWEEP_QUEUE,
            "expires": int(env_str("OUTBOX_SWEEP_SECONDS", "30")),
        },
    },
    # MAIL-5: every mailbox syncs periodically (one task per mailbox).
    "sync-mailboxes": {
        "task": "mailoptions.tasks.mailboxes_sync_all_task",
        "schedule": timedelta(seconds=int(env_str("MAIL_SYNC_INTERVAL_SECONDS", "300"))),
        "options": {"expires": int(env_str("MAIL_SYNC_INTERVAL_SECONDS", "300"))},
    },
}
# Auto-invite (AUT-11, AUT-12): every org's waiting invitations leave at its own rate; reminders.
AUTO_INVITE_SENDS_PER_MINUTE = int(env_str("AUTO_INVITE_SENDS_PER_MINUTE", "300"))
# Invitation mails per delivery task when the auto-invite sender sends a batch (AUT-12): one
# SMTP connection per task. 1: a task per mail (deliver_invitation_task), the old way.
INVITATION_DELIVERY_BATCH_SIZE = int(env_str("INVITATION_DELIVERY_BATCH_SIZE", "100"))
AUTO_INVITE_SEND_SWEEP_SECONDS = int(env_str("AUTO_INVITE_SEND_SWEEP_SECONDS", "10"))
CELERY_BEAT_SCHEDULE["autoinvite-send-sweep"] = {
    "task": "portals.tasks.auto_invite_send_sweep_task",
    "schedule": timedelta(seconds=AUTO_INVITE_SEND_SWEEP_SECONDS),
    "options": {"expires": AUTO_INVITE_SEND_SWEEP_SECONDS},
}
CELERY_BEAT_SCHEDULE["autoinvite-reminders"] = {
    "task": "portals.tasks.auto_invite_reminders_task",
    "schedule": timedelta(minutes=int(env_str("AUTO_INVITE_REMINDER_MINUTES", "15"))),
}
# CAM-3: Campaigns invitations past their validity become Expired.
CELERY_BEAT_SCHEDULE["expire-campaign-invitations"] = {
    "task": "campaigns_users.tasks.expire_campaign_invitations_task",
    "schedule": timedelta(minutes=int(env_str("CAMPAIGNS_EXPIRE_MINUTES", "15"))),
}
# CAM-8, CAM-10: notices before, then the purge of deleted Campaigns accounts.
CELERY_BEAT_SCHEDULE["deleted-campaign-accounts"] = {
    "task": "campaigns_users.tasks.deleted_campaign_accounts_task",
    "schedule": timedelta(hours=int(env_str("CAMPAIGNS_RETENTION_HOURS", "6"))),
}
# An invitation mail with no delivery attempt this long after its send is sent again with a
# fresh link (its task died with a worker; issue 16).
INVITATION_DELIVERY_STALE_SECONDS = int(env_str("INVITATION_DELIVERY_STALE_SECONDS", "600"))
CELERY_BEAT_SCHEDULE["invitations-redeliver-stale"] = {
    "task": "invitations.tasks.invitations_redeliver_stale_task",
    "schedule": timedelta(seconds=int(env_str("INVITATION_DELIVERY_SWEEP_SECONDS", "60"))),
    "options": {"expires": 60},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The kinds of spreadsheet import (IMP-1 … IMP-7): a worker handed a kind's key finds it here.
IMPORT_KINDS = {
    "users": "users.importing.USER_IMPORT",
    "contacts": "records.contact_import.CONTACT_IMPORT",
}
# Imports (IMP-6): rows per transaction, and an optional pause between batches.
USER_IMPORT_BATCH_SIZE = int(env_str("USER_IMPORT_BATCH_SIZE", "100"))
USER_IMPORT_BATCH_PAUSE_MS = int(env_str("USER_IMPORT_BATCH_PAUSE_MS", "0"))
# Uploaded spreadsheets are parsed in a child process with these hard limits.
SPREADSHEET_PARSE_MEMORY_MB = int(env_str("SPREADSHEET_PARSE_MEMORY_MB", "300"))
SPREADSHEET_PARSE_CPU_SECONDS = int(env_str("SPREADSHEET_PARSE_CPU_SECONDS", "20"))
# JSON API (REC-4): requests per token per clock minute.
API_RATE_LIMIT_PER_MINUTE = int(env_str("API_RATE_LIMIT_PER_MINUTE", "120"))
# The outbox relay (records.relay) hands committed events to the broker: woken at once by
# PostgreSQL's NOTIFY, it also looks every OUTBOX_RELAY_POLL_SECONDS (the only way on SQLite).
OUTBOX_RELAY_POLL_SECONDS = float(env_str("OUTBOX_RELAY_POLL_SECONDS", "1"))
OUTBOX_RELAY_BATCH_SIZE = int(env_str("OUTBOX_RELAY_BATCH_SIZE", "500"))
# Woken by a NOTIFY, the relay waits this long for the events committed just after it, so a
# steady stream of saves is handed over in batches rather than a task per event (AUT-8).
OUTBOX_RELAY_GATHER_SECONDS = float(env_str("OUTBOX_RELAY_GATHER_SECONDS", "0.1"))
# Touched by the relay after each round that reached the database (and the broker when events
# waited); the compose healthcheck reads its age (issue 16).
OUTBOX_RELAY_HEARTBEAT_FILE = env_str(
    "OUTBOX_RELAY_HEARTBEAT_FILE", str(VAR_DIR / "outbox-relay.alive")
)
# Events per worker task (AUT-8): the relay and the sweeper publish one task per org and batch.
OUTBOX_TASK_BATCH_SIZE = int(env_str("OUTBOX_TASK_BATCH_SIZE", "500"))
# The sweeper re-sends an event still unprocessed this long after it was written and after it
# was last handed over (AUT-8), at most OUTBOX_SWEEP_LIMIT a sweep.
OUTBOX_STALE_AFTER = timedelta(seconds=int(env_str("OUTBOX_STALE_SECONDS", "20")))
OUTBOX_SWEEP_LIMIT = int(env_str("OUTBOX_SWEEP_LIMIT", "1000"))
# A record's history says "processing…" of a change only once it has waited this long.
RECORD_HISTORY_SLOW_SECONDS = int(env_str("RECORD_HISTORY_SLOW_SECONDS", "30"))
# A failing event is retried with backoff (doubling from the base, jittered, up to the max) and
# marked failed after OUTBOX_MAX_ATTEMPTS attempts (manage.py outbox_failed lists them).
OUTBOX_RETRY_BASE_SECONDS = float(env_str("OUTBOX_RETRY_BASE_SECONDS", "2"))
OUTBOX_RETRY_MAX_SECONDS = float(env_str("OUTBOX_RETRY_MAX_SECONDS", "300"))
OUTBOX_MAX_ATTEMPTS = int(env_str("OUTBOX_MAX_ATTEMPTS", "8"))
# The relay logs the backlog at most this often; /healthz answers 503 when the oldest pending
# event is older than OUTBOX_LAG_ALERT_SECONDS.
OUTBOX_LOG_SECONDS = float(env_str("OUTBOX_LOG_SECONDS", "10"))
OUTBOX_LAG_ALERT_SECONDS = int(env_str("OUTBOX_LAG_ALERT_SECONDS", "300"))

# The mail add-on (MAIL-5). Mailbox secrets are encrypted with MAIL_SECRET_KEY (a comma-separated
# list rotates keys: the first encrypts, every one decrypts); unset, no mailbox connects or syncs.
MAIL_SECRET_KEY = os.environ.get("MAIL_SECRET_KEY", "")
# A message larger than this is stored with its headers only, and a note says so.
MAIL_MAX_MESSAGE_BYTES = int(env_str("MAIL_MAX_MESSAGE_BYTES", str(25 * 1024 * 1024)))
# Private, loopback and link-local IMAP hosts are refused unless this is on (local development
# and the tests' Dovecot): a mailbox must not become a way into the server's own network.
MAIL_IMAP_ALLOW_PRIVATE_HOSTS = env_bool("MAIL_IMAP_ALLOW_PRIVATE_HOSTS", DEBUG)
MAIL_IMAP_TIMEOUT_SECONDS = float(env_str("MAIL_IMAP_TIMEOUT_SECONDS", "30"))
# UIDs fetched (and stored, in one transaction) per round trip.
MAIL_SYNC_BATCH_SIZE = int(env_str("MAIL_SYNC_BATCH_SIZE", "250"))
MAIL_SYNC_INTERVAL_SECONDS = int(env_str("MAIL_SYNC_INTERVAL_SECONDS", "300"))

# Security. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_ENABLED=true.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(env_str("SESSION_COOKIE_AGE", str(60 * 60 * 24 * 14)))
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy: nothing inline runs without the request's nonce; no plugins,
# no framing, forms post only here. Images may be data: URIs (the two-factor QR code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        "img-src": [csp_constants.SELF, "data:"],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(env_str("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A 403 or 404 is one line ("Not Found: /path"), never a traceback.
    "filters": {"client_errors_one_line": {"()": "crm_portal.logs.ClientErrorsOneLine"}},
    # LOG_FORMAT=text (default): "time LEVEL logger [pid] message"; json: one object a line.
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
        "json": {"()": "crm_portal.logs.JsonLines"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if env_str("LOG_FORMAT", "text") == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors_one_line"]},
    },
}

# The Campaigns team (CAM-2): members per org, by plan (CAMPAIGNS_TEAM_LIMIT_<PLAN>), else
# CAMPAIGNS_TEAM_LIMIT.
CAMPAIGNS_TEAM_LIMIT = int(env_str("CAMPAIGNS_TEAM_LIMIT", "5"))
CAMPAIGNS_TEAM_LIMITS = {
    plan: int(os.environ[f"CAMPAIGNS_TEAM_LIMIT_{plan.upper()}"])
    for plan in ("free", "paid")
    if os.environ.get(f"CAMPAIGNS_TEAM_LIMIT_{plan.upper()}")
}
# Panels the CRM user's detail page shows below its own (point 10 of issue 15): dotted paths of
# `panel(membership) -> (template, context) | None`.
CRM_USER_DETAIL_PANELS = ["campaigns_users.selectors.crm_user_campaigns_panel"]
# Who may open an area of an org's pages without being one of its CRM users: each callable
# (user=, org_slug=, url_name=) returns the org or None (the tenant middleware asks them).
TENANT_AREA_GUESTS = ["campaigns_users.selectors.campaigns_area_org"]
# POR-6, CAM-7: `addresses(org) -> {email: verified}`, the sender addresses a portal email
# template may send from; one listed but unverified is refused.
EMAIL_SENDER_ADDRESSES = "campaigns_users.senders.org_sender_addresses"
