"""A browser's User-Agent header as a person reads it: "Chrome 120 on Windows", "Safari on
iPhone" (X-1, the sessions page). Deliberately small: the browsers and systems people sign in
with, in the order that disambiguates them (Edge and Opera also say "Chrome", Chrome also says
"Safari", iPhone browsers all say "Safari")."""

import re
from dataclasses import dataclass

# (name, pattern with the major version as group 1), tested in order.
BROWSERS = [
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
    ("Opera", r"(?:OPR|OPT)/(\d+)"),
    ("Samsung Internet", r"SamsungBrowser/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
    ("Chrome", r"(?:Chrome|CriOS)/(\d+)"),
    ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
    ("Internet Explorer", r"(?:MSIE |Trident/.*rv:)(\d+)"),
]
# (name, pattern), tested in order: iPhone and Android before the desktop systems they mimic.
SYSTEMS = [
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Chrome OS", r"CrOS"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("Linux", r"Linux|X11"),
]
# Safari's own version is only meaningful on the desktop; on iPhone and iPad it is iOS's.
SAFARI_VERSIONLESS_ON = {"iPhone", "iPad"}


@dataclass(frozen=True)
class BrowserAndSystem:
    browser: str = ""
    version: str = ""
    system: str = ""


def parse_user_agent(user_agent: str) -> BrowserAndSystem:
    """What can be told from a User-Agent; empty strings for what can't."""
    user_agent = user_agent or ""
    browser = version = system = ""
    for name, pattern in BROWSERS:
        match = re.search(pattern, user_agent)
        if match:
            browser, version = name, match.group(1)
            break
    for name, pattern in SYSTEMS:
        if re.search(pattern, user_agent):
            system = name
            break
    if browser == "Safari" and system in SAFARI_VERSIONLESS_ON:
        version = ""
    return BrowserAndSystem(browser=browser, version=version, system=system)
