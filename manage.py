#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_portal.settings")
    if not os.environ.get("SECRET_KEY"):
        # No secret on the command line means a developer's checkout: run with DEBUG on.
        # Servers (wsgi/asgi, docker compose) always have SECRET_KEY and stay strict.
        os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
