"""Which IMAP hosts a mailbox may reach (MAIL-5): in production, never the server's own
network (private, loopback, link-local, reserved addresses), whatever name points there."""

import ipaddress
import socket

from django.conf import settings


def host_is_private(host: str, port: int) -> bool:
    """True when any address the name resolves to is not a public one. A name that does not
    resolve is not private (the sync reports it as unreachable)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return True
    return False


def host_allowed(host: str, port: int) -> bool:
    return settings.MAIL_IMAP_ALLOW_PRIVATE_HOSTS or not host_is_private(host, port)
