"""Settings come from the environment; production settings pass `check --deploy` cleanly."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, env_overrides, tmp_path):
    # A clean environment, as an operator's would be: none of the test run's relaxations.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env.update(VAR_DIR=str(tmp_path), **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_foundation_check_deploy_prints_no_warning(tmp_path):
    production = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "crm.example.com",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
    }
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env_overrides=production, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_foundation_missing_secret_key_refuses_to_start_in_production(tmp_path):
    result = manage("check", env_overrides={"DEBUG": "false", "SECRET_KEY": ""}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_foundation_embedded_defaults_need_no_server(tmp_path):
    """Nothing set: an SQLite file, a filesystem broker, mail on the console."""
    env = {
        "DEBUG": "true",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "EMAIL_BACKEND": "",
    }
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']);print(s.CELERY_BROKER_URL);"
        "print(s.EMAIL_BACKEND);print(s.CACHES['default']['BACKEND'])"
    )
    result = manage("shell", "--verbosity", "0", "-c", code, env_overrides=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://localhost/",
        "django.core.mail.backends.console.EmailBackend",
        "django.core.cache.backends.filebased.FileBasedCache",
    ]
