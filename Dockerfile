# crm-portal image: web (gunicorn, the default command), worker and beat all run from it.
# docker-compose.yml shows how; settings come from the environment (.env.example lists them).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/app \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=3

WORKDIR /app

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin app

# Dependencies first, from pyproject.toml alone, so a code change doesn't reinstall them.
# The code itself runs from /app (PYTHONPATH): templates/, static/ and locale/ live next to
# the packages, not inside them, so an installed wheel alone would miss them.
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Static files are served by the app itself (X-5), from a manifest built here. The secret is a
# build-time placeholder for this one step; the running container must be given SECRET_KEY.
RUN SECRET_KEY=collectstatic-build-step-only DEBUG=false VAR_DIR=/tmp/build-var \
      python manage.py collectstatic --noinput \
 && rm -rf /tmp/build-var \
 && mkdir -p /app/var \
 && chown app:app /app/var

USER app

EXPOSE 8000

# /healthz answers 200 when the database and the broker do. The Host header is the first
# ALLOWED_HOSTS entry, so the probe is not refused as a disallowed host. Worker and beat
# containers override this check (see docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as r; h = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=8)"]

CMD ["gunicorn", "crm_portal.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
