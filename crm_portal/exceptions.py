from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

# What the shared cache raises when Redis (or the file cache's disk) is unreachable.
CACHE_UNREACHABLE = (RedisError, OSError)
# What a database that is briefly away (restarting, failing over) raises.
DATABASE_AWAY = (OperationalError, InterfaceError)


class ActionRefused(Exception):
    """A service refused to act; `message` is for the user (already translated),
    `field` names the form field it belongs to, if any. Nothing was written."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
