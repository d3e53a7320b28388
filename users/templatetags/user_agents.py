from django import template
from django.utils.translation import gettext

from users.user_agents import parse_user_agent

register = template.Library()


@register.filter
def browser_and_os(user_agent: str) -> str:
    """A session's User-Agent as "Chrome 120 on Windows" in the viewer's language (X-1)."""
    found = parse_user_agent(user_agent)
    browser = f"{found.browser} {found.version}".strip() or gettext("Unknown browser")
    if not found.system:
        return browser
    return gettext("%(browser)s on %(system)s") % {"browser": browser, "system": found.system}
