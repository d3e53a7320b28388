class ActionRefused(Exception):
    """A service refused to act; `message` is for the user (already translated),
    `field` names the form field it belongs to, if any. Nothing was written."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
