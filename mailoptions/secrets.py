"""Mailbox secrets encrypted at rest (MAIL-5) with Fernet, under keys derived from the
MAIL_SECRET_KEY setting: the first key encrypts, every listed key decrypts (rotation)."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class MailSecretKeyMissing(Exception):
    """MAIL_SECRET_KEY is not set: no secret can be stored or read."""


class MailSecretUnreadable(Exception):
    """The stored secret was encrypted with a key no longer listed in MAIL_SECRET_KEY."""


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in (settings.MAIL_SECRET_KEY or "").split(",") if key.strip()]
    if not keys:
        raise MailSecretKeyMissing
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())) for key in keys]
    )


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise MailSecretUnreadable from error
