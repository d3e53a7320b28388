"""A raw message into what the add-on stores (MAIL-5). Broken MIME never raises: what could
be parsed is kept and the defects are listed."""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from django.utils import timezone

from records.notes import display_name

PARSER = BytesParser(policy=policy.compat32)
MAX_HEADER_CHARS = 998
CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,40}/[a-z0-9][a-z0-9!#$&^_.+-]{0,56}$")
OCTET_STREAM = "application/octet-stream"


@dataclass
class ParsedAttachment:
    """An attachment part (MAIL-5): its name as shown (sanitised), its declared type (checked
    for shape only) and its decoded bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMessage:
    key: str
    message_id: str = ""
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    sent_at: datetime | None = None
    body_text: str = ""
    body_html: str = ""
    defects: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)

    @property
    def addresses(self) -> set[str]:
        """Every normalised address of From, To and Cc: what links the message to records."""
        return {a for a in [self.from_address, *self.to, *self.cc] if a}


def normalise_address(address: str) -> str:
    address = (address or "").replace("\x00", "").strip().strip("<>").strip()
    return address.lower() if "@" in address else ""


def _decoded(value) -> str:
    """A header as text: RFC 2047 words decoded, undecodable bytes replaced."""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:  # noqa: BLE001 - a header the parser cannot read is kept as it came
        return str(value)


def _addresses(message, name: str) -> list[tuple[str, str]]:
    values = [str(v) for v in message.get_all(name, [])]
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001
        return []
    return [(_decoded(n), normalise_address(a)) for n, a in pairs if normalise_address(a)]


def _sent_at(value) -> datetime | None:
    try:
        moment = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def _text_of(part, defects: list[str]) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        defects.append("UnknownCharset")
        return payload.decode("utf-8", errors="replace")


def attachment_filename(raw_name: str) -> str:
    """An attachment's name as shown and sent back in Content-Disposition (MAIL-5): RFC 2047
    words decoded, then no invisible format characters (a right-to-left override would show
    "exe.pdf" for "fdp.exe"), then the rules of a record's upload name: the last path
    component only, no control or shell characters, no leading dots, at most 200 characters."""
    name = _decoded(raw_name) if raw_name else ""
    name = "".join(c for c in name if unicodedata.category(c) != "Cf")
    return display_name(name)


def attachment_content_type(part) -> str:
    kind = (part.get_content_type() or "").lower()
    return kind if CONTENT_TYPE.match(kind) else OCTET_STREAM


def _is_attachment(part) -> bool:
    """A leaf part kept as a file: one with a name, one marked as an attachment, or any part
    that is not text (an inline image, a PDF without a name)."""
    disposition = str(part.get("Content-Disposition", "") or "").split(";", 1)[0]
    return bool(
        part.get_filename()
        or disposition.strip().lower() == "attachment"
        or part.get_content_maintype() != "text"
    )


def _parts(message, defects: list[str]) -> tuple[str, str, list[ParsedAttachment]]:
    """The first text and HTML bodies, and every attachment part in order."""
    text = html = ""
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if _is_attachment(part):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                attachments.append(
                    ParsedAttachment(
                        filename=attachment_filename(part.get_filename() or ""),
                        content_type=attachment_content_type(part),
                        data=data,
                    )
                )
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and not text:
            text = _text_of(part, defects)
        elif kind == "text/html" and not html:
            html = _text_of(part, defects)
    return text, html, attachments


def message_key(message_id: str, raw_headers: bytes) -> str:
    basis = message_id.encode() if message_id else raw_headers
    return hashlib.sha256(basis).hexdigest()


def message_parse(raw: bytes, *, headers_only: bool = False) -> ParsedMessage:
    message = PARSER.parsebytes(raw, headersonly=headers_only)
    message_id = str(message.get("Message-ID", "") or "").strip()[:MAX_HEADER_CHARS]
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    senders = _addresses(message, "From")
    parsed = ParsedMessage(
        key=message_key(message_id, head),
        message_id=message_id,
        subject=_decoded(message.get("Subject")),
        from_name=(senders[0][0] if senders else "")[:200],
        from_address=(senders[0][1] if senders else "")[:320],
        to=[a for _n, a in _addresses(message, "To")],
        cc=[a for _n, a in _addresses(message, "Cc")],
        sent_at=_sent_at(message.get("Date")),
    )
    if not headers_only:
        try:
            parsed.body_text, parsed.body_html, parsed.attachments = _parts(message, parsed.defects)
        except Exception:  # noqa: BLE001 - the headers are kept; the defect says why
            parsed.defects.append("UnreadableBody")
    parsed.defects += sorted(
        {type(d).__name__ for part in message.walk() for d in getattr(part, "defects", [])}
    )
    return _without_nul(parsed)


def _without_nul(parsed: ParsedMessage) -> ParsedMessage:
    """PostgreSQL's text holds no NUL character; a broken message may carry some."""
    for name in ("message_id", "subject", "from_name", "body_text", "body_html"):
        setattr(parsed, name, getattr(parsed, name).replace("\x00", ""))
    return parsed
