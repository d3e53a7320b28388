"""A stored message's body for the page (MAIL-5 point 2): HTML sanitised with nh3, remote
images blocked until the reader asks for them."""

import nh3

REMOTE = ("http:", "https:", "//")


def message_html(html: str, *, show_images: bool) -> tuple[str, int]:
    """The sanitised HTML and how many remote images were left out of it."""
    blocked = 0

    def keep(tag, attribute, value):
        nonlocal blocked
        if tag == "img" and attribute in ("src", "srcset"):
            if value.strip().lower().startswith(REMOTE):
                if not show_images:
                    blocked += 1
                    return None
            elif not value.strip().lower().startswith("data:image/"):
                return None
        return value

    cleaned = nh3.clean(
        html,
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
    )
    return cleaned, blocked
