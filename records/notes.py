"""Notes and attachments on contacts and accounts (POR-7): services and selectors.

A note or an attachment never changes the record's fields (no RecordEvent). An attachment's
type is detected from its content, against an allow-list; executables are refused whatever
their name; the stored file name is ours (random), the uploaded name is kept only for display,
sanitised. Callers (the CRM views, portals.site) decide who may add and see.
"""

import io
import re
import unicodedata
import uuid
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from crm_portal.files import IMAGE_CONTENT_TYPES, image_kind

from .models import Attachment, Note
from .modules import MODELS

NOTE_MAX_CHARS = 10_000
LIST_LIMIT = 50
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

PDF = "application/pdf"
TEXT = "text/plain"
CSV = "text/csv"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {
    PDF: ".pdf",
    **{content_type: f".{kind}" for kind, content_type in IMAGE_CONTENT_TYPES.items()},
    TEXT: ".txt",
    CSV: ".csv",
    DOCX: ".docx",
    XLSX: ".xlsx",
}
# What an Office file's [Content_Types].xml names as its main part.
OFFICE_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
MARKUP = re.compile(rb"<\s*(svg|script|html|!doctype|\?xml|iframe|object)", re.IGNORECASE)
UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f<>:\"|?*;]")


def max_bytes() -> int:
    return int(getattr(settings, "ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def display_name(uploaded: str) -> str:
    """The uploaded name as shown: its last path component only, no control or shell
    characters, no leading dots, at most 200 characters ("file" when nothing is left)."""
    name = unicodedata.normalize("NFC", uploaded or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = UNSAFE_NAME_CHARS.sub("_", name).strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 190 - len(ext)]}.{ext}" if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def _office_type(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError):
        return None
    for part, content_type in OFFICE_MAIN_PARTS.items():
        if part in types:
            return content_type
    return None


def detect_type(data: bytes, name: str) -> str:
    """The content type of an upload from its bytes, or ValidationError saying why not."""
    if data.startswith(b"MZ") or data.startswith(b"\x7fELF"):
        raise ValidationError(_("Programs cannot be attached."), code="executable")
    if data.startswith(b"%PDF-"):
        return PDF
    image = image_kind(data[:16])
    if image:
        return IMAGE_CONTENT_TYPES[image]
    if data.startswith(b"PK\x03\x04"):
        office = _office_type(data)
        if office:
            return office
    elif b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if MARKUP.search(data[:4096]):
                raise ValidationError(
                    _("Web pages and SVG images cannot be attached."), code="markup"
                )
            return CSV if name.lower().endswith(".csv") else TEXT
    raise ValidationError(
        _(
            "This kind of file cannot be attached. Accepted: PDF, PNG, JPEG, GIF, WebP, "
            "plain text, CSV, Word (.docx) and Excel (.xlsx)."
        ),
        code="type",
    )


def _check_record(module: str) -> None:
    if module not in MODELS:
        raise ValidationError(_("Unknown module."))


def note_add(
    *,
    org,
    module: str,
    record_id: int,
    body: str,
    crm_user=None,
    portal_user_id: int | None = None,
    author_name: str = "",
) -> Note:
    """POR-7: a note on a record. The record's fields are not touched."""
    _check_record(module)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write a note first.")]})
    if "\x00" in body:
        raise ValidationError({"body": [_("Null characters are not allowed.")]})
    if len(body) > NOTE_MAX_CHARS:
        message = _("A note has at most %(limit)s characters (this one has %(count)s).") % {
            "limit": NOTE_MAX_CHARS,
            "count": len(body),
        }
        raise ValidationError({"body": [message]})
    return Note.objects.create(
        org=org,
        module=module,
        record_id=record_id,
        body=body,
        author_crm_user=crm_user,
        author_portal_user_id=portal_user_id,
        author_name=(author_name or (str(crm_user) if crm_user else ""))[:200],
    )


def attachment_add(
    *,
    org,
    module: str,
    record_id: int,
    upload,
    crm_user=None,
    portal_user_id: int | None = None,
    author_name: str = "",
) -> Attachment:
    """POR-7: a file on a record, checked by size and content; stored under a random name."""
    _check_record(module)
    if upload is None:
        raise ValidationError({"file": [_("Choose a file first.")]})
    limit = max_bytes()
    if upload.size > limit:
        message = _("The file is too large (%(size)s); the limit is %(limit)s.") % {
            "size": filesizeformat(upload.size),
            "limit": filesizeformat(limit),
        }
        raise ValidationError({"file": [message]})
    if upload.size == 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError({"file": [_("The file is too large.")]})
    name = display_name(getattr(upload, "name", "") or "")
    try:
        content_type = detect_type(data, name)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from error
    attachment = Attachment(
        org=org,
        module=module,
        record_id=record_id,
        original_name=name,
        size=len(data),
        content_type=content_type,
        uploaded_by_crm_user=crm_user,
        uploaded_by_portal_user_id=portal_user_id,
        uploaded_by_name=(author_name or (str(crm_user) if crm_user else ""))[:200],
    )
    stored = f"{uuid.uuid4().hex}{EXTENSIONS[content_type]}"
    attachment.file.save(stored, ContentFile(data), save=False)
    attachment.save()
    return attachment


def record_notes(*, org, module: str, record_id: int, limit: int = LIST_LIMIT) -> QuerySet:
    """A record's notes, newest first, at most `limit`."""
    notes = Note.objects.filter(org=org, module=module, record_id=record_id)
    return notes.select_related("author_crm_user").order_by("-created_at", "-pk")[:limit]


def record_attachments(*, org, module: str, record_id: int, limit: int = LIST_LIMIT) -> QuerySet:
    """A record's attachments, newest first, at most `limit`."""
    found = Attachment.objects.filter(org=org, module=module, record_id=record_id)
    return found.select_related("uploaded_by_crm_user").order_by("-created_at", "-pk")[:limit]


def record_attachment(*, org, module: str, record_id: int, pk: int) -> Attachment | None:
    """One attachment of a record, or None."""
    return Attachment.objects.filter(org=org, module=module, record_id=record_id, pk=pk).first()
