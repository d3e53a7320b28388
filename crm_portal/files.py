"""What an uploaded file is, read from its first bytes — never from its name or the browser's
word (POR-1 logos, POR-7 attachments)."""

IMAGE_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}


def image_kind(head: bytes) -> str | None:
    """The kind ("png", "jpg", "gif" or "webp") of a raster image starting with `head`; None
    for anything else, SVG included (it can carry scripts)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None
