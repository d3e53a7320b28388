"""Operators run crm-portal with `docker compose up` (DESIGN "Running"): web, the outbox
relay, worker, beat, PostgreSQL, Redis and a mail catcher, all on the same settings from the
environment.

Checked offline with Debian's docker-compose (`make test` installs it): `config` validates and
resolves the file without a Docker engine. Every run gets a clean environment and an explicit,
empty env file, so neither the test settings nor a developer's .env leak into the result.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
REQUIRED = {"SECRET_KEY": "compose-test-secret", "POSTGRES_PASSWORD": "compose-test-db-password"}
APP_SERVICES = ("web", "relay", "worker", "beat", "migrate")
YAML_TO_JSON = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"


def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(
            "docker-compose is not installed; `make test` installs it "
            "(apt-get install docker-compose).",
            pytrace=False,
        )
    return path


def compose(tmp_path: Path, *args: str, env: dict | None = None, env_file: Path | None = None):
    if env_file is None:
        env_file = tmp_path / "empty.env"
        env_file.touch()
    clean_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    return subprocess.run(
        [docker_compose(), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        env={**clean_env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def yaml_to_data(text: str):
    """PyYAML if this virtualenv has it, else the interpreter docker-compose v1 runs on (it
    depends on PyYAML); the project itself needs no YAML library."""
    try:
        import yaml
    except ImportError:
        with open(docker_compose(), "rb") as script:
            shebang = script.readline().decode(errors="replace")
        if not (shebang.startswith("#!") and "python" in shebang):
            pytest.fail("Can't parse `docker-compose config`: install PyYAML.", pytrace=False)
        interpreter = shebang[2:].split()
        result = subprocess.run(
            [*interpreter, "-c", YAML_TO_JSON], input=text, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    return yaml.safe_load(text)


def resolved_config(tmp_path: Path, env: dict | None = None, env_file: Path | None = None):
    """The file as compose resolves it: merged anchors, interpolated variables."""
    version = compose(tmp_path, "version", "--short").stdout.strip().lstrip("v")
    v1 = version.startswith("1.")  # Debian's; it prints YAML only (and ignores --format)
    args = ("config",) if v1 else ("config", "--format", "json")
    result = compose(tmp_path, *args, env=env, env_file=env_file)
    assert result.returncode == 0, result.stderr
    return yaml_to_data(result.stdout) if v1 else json.loads(result.stdout)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return resolved_config(tmp_path_factory.mktemp("compose"), env=REQUIRED)


@pytest.fixture(scope="module")
def services(config):
    return config["services"]


def healthcheck_test(service: dict) -> list[str]:
    check = service.get("healthcheck") or {}
    if check.get("disable"):
        return ["NONE"]
    test = check.get("test", ["NONE"])
    return [test] if isinstance(test, str) else test


def mounts(service: dict) -> dict[str, str]:
    """target -> source for each volume, in v1's short or v2's long form."""
    result = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source"), volume["target"]
        result[target] = source
    return result


def dockerfile_instruction(name: str) -> str:
    """The instruction's arguments, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(.+)$", text, flags=re.MULTILINE)
    assert found, f"the Dockerfile has no {name} instruction"
    return found[-1]


def dockerfile_healthcheck_code() -> str:
    exec_form = json.loads(dockerfile_instruction("HEALTHCHECK").split(" CMD ", 1)[1])
    assert exec_form[:2] == ["python", "-c"], exec_form
    return exec_form[2]


def compose_variables(text: str) -> set[str]:
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", code))  # $$ escapes to the container


def env_example_variables() -> dict[str, str]:
    """Every `VAR=value` line of .env.example, commented out or not; the last one wins."""
    pairs = re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return dict(pairs)


def test_foundation_compose_file_is_valid(tmp_path):
    result = compose(tmp_path, "config", "-q", env=REQUIRED)
    assert result.returncode == 0, result.stderr


def test_foundation_operators_get_web_relay_worker_beat_db_redis_and_mail(services):
    assert {"web", "relay", "worker", "beat", "db", "redis", "mail", "migrate"} <= set(services)
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mail"]["image"].startswith("axllent/mailpit")
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "crm_portal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "crm_portal", "beat"]
    assert services["relay"]["command"] == ["python", "manage.py", "outbox_relay"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


@pytest.mark.parametrize(
    ("service", "probe"),
    [
        ("db", "pg_isready"),
        ("redis", "ping"),
        ("web", "/healthz"),
        ("mail", "readyz"),
        ("worker", "inspect ping"),
        ("relay", "outbox-relay.alive"),
        ("beat", "celerybeat-schedule"),
    ],
)
def test_foundation_services_have_healthchecks(services, service, probe):
    test = healthcheck_test(services[service])
    assert test[0] in ("CMD", "CMD-SHELL"), test
    assert probe in " ".join(test)


def test_foundation_web_healthcheck_is_the_image_healthcheck(services):
    assert healthcheck_test(services["web"])[1:] == ["python", "-c", dockerfile_healthcheck_code()]


def test_foundation_one_shot_services_do_not_inherit_the_web_healthcheck(services):
    # The image's check probes :8000, where only web listens; elsewhere it would report unhealthy.
    assert healthcheck_test(services["migrate"]) == ["NONE"]
    for name in ("relay", "beat"):
        assert "8000" not in " ".join(healthcheck_test(services[name]))


def file_age_check(service: dict) -> str:
    test = healthcheck_test(service)
    assert test[:3] == ["CMD", "python", "-c"], test
    return test[3]


@pytest.mark.parametrize(
    ("service", "name", "fresh_for"),
    [("relay", "outbox-relay.alive", 60), ("beat", "celerybeat-schedule", 600)],
)
def test_issue16_relay_and_beat_checks_read_the_age_of_the_file_they_keep_fresh(
    services, tmp_path, service, name, fresh_for
):
    """Issue 16: every service has a healthcheck. The relay's and beat's read the age of a
    file the process keeps fresh: missing or stale is unhealthy, fresh is healthy."""
    code = file_age_check(services[service]).replace("/app/var/", f"{tmp_path}/")

    def healthy() -> bool:
        return subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0

    assert not healthy(), "no file yet: unhealthy"
    path = tmp_path / name
    path.touch()
    assert healthy()
    stale = time.time() - fresh_for - 5
    os.utime(path, (stale, stale))
    assert not healthy()


def test_issue16_relay_healthcheck_reads_the_file_the_relay_touches(services):
    """The container's VAR_DIR is /app/var: the relay's default heartbeat file is the one the
    check reads."""
    from django.conf import settings

    assert settings.OUTBOX_RELAY_HEARTBEAT_FILE == f"{settings.VAR_DIR}/outbox-relay.alive"
    assert "/app/var/outbox-relay.alive" in file_age_check(services["relay"])


def test_foundation_data_lives_in_named_volumes(config, services):
    named = set(config["volumes"])
    assert mounts(services["db"])["/var/lib/postgresql/data"] in named
    assert mounts(services["redis"])["/data"] in named


def test_aut8_beat_keeps_its_schedule_in_a_named_volume(config, services):
    beat = services["beat"]
    assert mounts(beat)["/app/var"] in set(config["volumes"])
    assert "--schedule=/app/var/celerybeat-schedule" in beat["command"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_foundation_app_services_use_the_bundled_database_and_broker(services, service):
    env = services[service]["environment"]
    database = urlsplit(env["DATABASE_URL"])
    assert (database.scheme, database.hostname, database.port) == ("postgres", "db", 5432)
    assert database.password == REQUIRED["POSTGRES_PASSWORD"]
    assert urlsplit(env["CELERY_BROKER_URL"])[:2] == ("redis", "redis:6379")
    assert urlsplit(env["REDIS_URL"])[:2] == ("redis", "redis:6379")


def test_foundation_web_worker_and_beat_share_the_same_settings(services):
    environments = [services[name]["environment"] for name in APP_SERVICES]
    assert all(env == environments[0] for env in environments)
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1


@pytest.mark.parametrize("service", ["web", "relay", "worker", "beat"])
def test_foundation_app_services_wait_for_migrations_and_healthy_services(services, service):
    depends_on = services[service]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    for dependency in ("db", "redis", "mail"):
        assert depends_on[dependency]["condition"] == "service_healthy"


def test_foundation_migrations_wait_for_a_healthy_database(services):
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"


def test_foundation_defaults_suit_plain_http_on_localhost(services):
    env = services["web"]["environment"]
    assert env["DEBUG"] == "false"
    assert env["ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        assert env[name] == "false", name


def test_x4_mail_goes_over_smtp_to_the_mail_catcher_by_default(services):
    env = services["worker"]["environment"]
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (env["EMAIL_HOST"], env["EMAIL_PORT"]) == ("mail", "1025")
    published = json.dumps(services["mail"]["ports"])
    assert "8025" in published and "1025" not in published


def test_scaling_out_adds_worker_containers(services):
    worker = services["worker"]
    # A fixed name or a published port would stop `--scale worker=N` from starting a second one.
    assert "container_name" not in worker
    assert not worker.get("ports")
    # Each container is its own Celery node, named after its hostname.
    assert "celery@$HOSTNAME" in " ".join(healthcheck_test(worker)).replace("$$", "$")


@pytest.mark.parametrize("secret", sorted(REQUIRED))
@pytest.mark.parametrize("value", [None, ""])
def test_no_secret_has_a_production_default(tmp_path, secret, value):
    env = {name: v for name, v in REQUIRED.items() if name != secret}
    if value is not None:
        env[secret] = value
    result = compose(tmp_path, "config", "-q", env=env)
    assert result.returncode != 0
    assert f"Set {secret} in .env" in result.stderr


def test_operators_override_settings_from_an_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SECRET_KEY=from-the-env-file\n"
        "POSTGRES_PASSWORD=db-pass\n"
        "ALLOWED_HOSTS=crm.example.com\n"
        "SECURE_SSL_REDIRECT=true\n"
        "EMAIL_BACKEND=anymail.backends.mailgun.EmailBackend\n"
        "ANYMAIL_MAILGUN_API_KEY=key-123\n"
    )
    services = resolved_config(tmp_path, env_file=env_file)["services"]
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["SECRET_KEY"] == "from-the-env-file"
        assert env["ALLOWED_HOSTS"] == "crm.example.com"
        assert env["SECURE_SSL_REDIRECT"] == "true"
        assert env["EMAIL_BACKEND"] == "anymail.backends.mailgun.EmailBackend"
        assert env["ANYMAIL_MAILGUN_API_KEY"] == "key-123"
        assert urlsplit(env["DATABASE_URL"]).password == "db-pass"
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == "db-pass"


def test_env_example_documents_every_compose_variable():
    assert set(env_example_variables()) == compose_variables(COMPOSE_FILE.read_text())


def test_env_example_as_copied_asks_for_the_secret_key(tmp_path):
    result = compose(tmp_path, "config", "-q", env_file=ENV_EXAMPLE)
    assert result.returncode != 0
    assert "Set SECRET_KEY in .env" in result.stderr
    assert "secrets.token_urlsafe(50)" in ENV_EXAMPLE.read_text()


def test_env_example_values_are_valid_settings(tmp_path):
    """Uncommenting the examples (the Mailgun one last) gives a working configuration."""
    examples = {**env_example_variables(), **REQUIRED}
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in examples.items()))
    env = resolved_config(tmp_path, env_file=env_file)["services"]["worker"]["environment"]
    assert env["EMAIL_BACKEND"] == "anymail.backends.mailgun.EmailBackend"
    assert env["ANYMAIL_MAILGUN_SENDER_DOMAIN"] == "mg.example.com"
    assert env["DEFAULT_FROM_EMAIL"] == "crm-portal <noreply@example.com>"


def test_foundation_dockerfile_runs_gunicorn_as_a_non_root_user():
    assert dockerfile_instruction("FROM") == "python:3.11-slim"
    assert re.search(r"^RUN pip install \.$", DOCKERFILE.read_text(), re.MULTILINE)
    user = dockerfile_instruction("USER")
    assert user not in ("root", "0")
    command = json.loads(dockerfile_instruction("CMD"))
    assert command[:2] == ["gunicorn", "crm_portal.wsgi:application"]
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"


def test_x5_image_collects_static_files_at_build():
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    collect = next(line for line in text.splitlines() if "collectstatic" in line)
    assert collect.startswith("RUN ")
    assert "--noinput" in collect and "DEBUG=false" in collect and "SECRET_KEY=" in collect
    # The placeholder secret lives in that one step, never in the image's environment.
    assert not re.search(r"^(ENV|ARG)\b.*SECRET_KEY", text, re.MULTILINE)
    assert "STATIC_MANIFEST" not in text


def test_foundation_dockerfile_healthcheck_is_valid_python():
    assert "/healthz" in dockerfile_healthcheck_code()
    ast.parse(dockerfile_healthcheck_code())


class StubHealthz(BaseHTTPRequestHandler):
    """Answers like Django would: 400 for a host it doesn't serve, else the health status."""

    served_host = "localhost"
    status = 200

    def do_GET(self):  # noqa: N802 (http.server's name)
        served = self.headers["Host"] == self.served_host and self.path == "/healthz"
        self.send_response(self.status if served else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    ("allowed_hosts", "served_host", "status", "healthy"),
    [
        ("crm.example.com,localhost", "crm.example.com", 200, True),
        (".example.com", "example.com", 200, True),
        ("*", "localhost", 200, True),
        ("crm.example.com", "crm.example.com", 503, False),
    ],
)
def test_foundation_healthcheck_probe_sends_an_allowed_host(
    allowed_hosts, served_host, status, healthy
):
    """Operators set ALLOWED_HOSTS to their domain: the probe must still get past Django."""
    handler = type("Handler", (StubHealthz,), {"served_host": served_host, "status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    code = dockerfile_healthcheck_code().replace(":8000/", f":{server.server_port}/")
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "ALLOWED_HOSTS": allowed_hosts},
            capture_output=True,
            timeout=30,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is healthy, result.stderr


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "var", ".git"} <= ignored
