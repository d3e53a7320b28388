"""Notes and attachments on records (POR-7, X-6; issue 12 Deliver 4): from the portal where the
group allows ("notes" / "attachments"), on the CRM record page, downloads only for who may see
the record, with safe headers; files checked by size and content."""

import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scopes_disabled

from records.models import Attachment, Note, RecordEvent
from records.notes import attachment_add, note_add
from tests.conftest import client_for
from tests.portals.factories import PortalUserFactory
from tests.portals.site_world import group_modules, make_world
from tests.users.factories import CrmUserFactory, UserFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
ALL = ("view", "create", "edit", "notes", "attachments")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def world(db):
    return make_world(group_modules("related", actions=ALL))


def detail(world, record, module="contacts"):
    return world.url(f"{module}/{record.pk}/")


def upload(world, client, record, name, data, content_type="application/octet-stream"):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(detail(world, record) + "attachments/", {"file": file})


def attachments_of(record):
    with scopes_disabled():
        return list(Attachment.objects.filter(record_id=record.pk, module="contacts"))


def test_por7_group_with_notes_and_attachments_shows_both_forms(world):
    page = world.client().get(detail(world, world.me)).content.decode()
    assert 'id="portal-notes"' in page and 'name="body"' in page
    assert 'id="portal-attachments"' in page and 'type="file"' in page


def test_por7_group_without_the_actions_sees_the_sections_but_no_forms_and_posts_404(db):
    world = make_world(group_modules("related", actions=("view",)))
    client = world.client()
    page = client.get(detail(world, world.me)).content.decode()
    assert 'id="portal-notes"' in page and 'id="portal-attachments"' in page
    assert 'name="body"' not in page and 'type="file"' not in page
    # Never only hidden: the POSTs themselves are refused.
    assert client.post(detail(world, world.me) + "notes/", {"body": "Hi"}).status_code == 404
    assert upload(world, client, world.me, "a.pdf", PDF).status_code == 404
    with scopes_disabled():
        assert not Note.objects.exists() and not Attachment.objects.exists()


def test_por7_a_portal_user_adds_a_note_the_record_is_unchanged(world):
    client = world.client()
    with scopes_disabled():
        events = RecordEvent.objects.count()
        before = {f: getattr(world.me, f) for f in ("first_name", "last_name", "email", "phone")}
    response = client.post(detail(world, world.me) + "notes/", {"body": "Please call me back."})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Please call me back." in page and "Paula" in page
    with scopes_disabled():
        note = Note.objects.get()
        assert note.author_portal_user_id == world.portal_user.pk and note.author_crm_user is None
        assert RecordEvent.objects.count() == events
        world.me.refresh_from_db()
        assert {f: getattr(world.me, f) for f in before} == before


def test_por7_x6_too_long_note_refused_with_the_typed_text_kept(world):
    body = "x" * 10_001
    response = world.client().post(detail(world, world.me) + "notes/", {"body": body})
    assert response.status_code == 200
    page = response.content.decode()
    assert "at most 10000 characters" in page
    assert body in page  # the typed text is still in the form
    with scopes_disabled():
        assert not Note.objects.exists()


def test_por7_no_note_on_a_record_outside_the_slice(world):
    client = world.client()
    assert client.post(detail(world, world.stranger) + "notes/", {"body": "x"}).status_code == 404
    assert client.post(detail(world, world.foreign) + "notes/", {"body": "x"}).status_code == 404
    with scopes_disabled():
        assert not Note.objects.exists()


def test_por7_upload_pdf_and_png_accepted_with_the_detected_type(world, _media):
    client = world.client()
    assert upload(world, client, world.me, "report.pdf", PDF).status_code == 302
    assert upload(world, client, world.me, "photo.bin", PNG).status_code == 302
    found = {a.original_name: a for a in attachments_of(world.me)}
    assert found["report.pdf"].content_type == "application/pdf"
    assert found["photo.bin"].content_type == "image/png"  # by content, not by name
    assert found["report.pdf"].size == len(PDF)
    stored = found["report.pdf"].file.name
    assert "report" not in stored and stored.endswith(".pdf")  # our name, not theirs
    page = client.get(detail(world, world.me)).content.decode()
    assert "report.pdf" in page and "photo.bin" in page


def test_por7_upload_too_large_refused(world, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    response = upload(world, world.client(), world.me, "big.pdf", PDF + b"0" * 2000)
    assert response.status_code == 200
    assert "The file is too large" in response.content.decode()
    assert not attachments_of(world.me)


def test_por7_executable_renamed_pdf_refused(world):
    response = upload(world, world.client(), world.me, "invoice.pdf", EXE, "application/pdf")
    assert response.status_code == 200
    assert "Programs cannot be attached." in response.content.decode()
    elf = upload(world, world.client(), world.me, "tool.pdf", b"\x7fELF" + b"\x00" * 40)
    assert "Programs cannot be attached." in elf.content.decode()
    assert not attachments_of(world.me)


def test_por7_svg_with_script_refused(world):
    response = upload(world, world.client(), world.me, "logo.svg", SVG, "image/svg+xml")
    assert response.status_code == 200
    assert "SVG images cannot be attached" in response.content.decode()
    assert not attachments_of(world.me)


def test_por7_name_with_dot_dot_stored_safely_and_shown_sanitised(world, _media):
    response = upload(world, world.client(), world.me, "../../etc/passwd.pdf", PDF)
    assert response.status_code == 302
    (attachment,) = attachments_of(world.me)
    assert attachment.original_name == "passwd.pdf"
    stored = os.path.realpath(attachment.file.path)
    assert stored.startswith(os.path.realpath(_media) + os.sep)
    assert ".." not in attachment.file.name
    page = world.client().get(detail(world, world.me)).content.decode()
    assert "passwd.pdf" in page and "../" not in page.split('id="portal-attachments"')[1]


def test_por7_docx_and_text_accepted_a_plain_zip_refused(world):
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("a.txt", "hi")
    client = world.client()
    assert upload(world, client, world.me, "letter.docx", docx.getvalue()).status_code == 302
    assert upload(world, client, world.me, "notes.txt", "日本語 ok".encode()).status_code == 302
    assert upload(world, client, world.me, "x.docx", other.getvalue()).status_code == 200
    types = sorted(a.content_type for a in attachments_of(world.me))
    assert types == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/plain",
    ]


def _attachment(world, record, module="contacts"):
    with scopes_disabled():
        return attachment_add(
            org=record.org,
            module=module,
            record_id=record.pk,
            upload=SimpleUploadedFile("doc.pdf", PDF),
            author_name="Someone",
        )


def test_por7_download_headers(world):
    attachment = _attachment(world, world.me)
    response = world.client().get(detail(world, world.me) + f"attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="doc.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_por7_download_only_for_who_may_see_the_record(db):
    world = make_world(group_modules("own", actions=ALL))
    mine = _attachment(world, world.me)
    colleague = _attachment(world, world.colleague)  # outside an "own" slice
    foreign = _attachment(world, world.foreign)
    client = world.client()
    assert client.get(detail(world, world.me) + f"attachments/{mine.pk}/").status_code == 200
    for record, attachment in ((world.colleague, colleague), (world.foreign, foreign)):
        url = detail(world, record) + f"attachments/{attachment.pk}/"
        assert client.get(url).status_code == 404
    # Another record's file through my own record's address: no.
    url = detail(world, world.me) + f"attachments/{colleague.pk}/"
    assert client.get(url).status_code == 404


def test_por7_another_portal_user_of_the_same_portal_gets_404(db):
    world = make_world(group_modules("own", actions=ALL))
    mine = _attachment(world, world.me)
    with scopes_disabled():
        other = PortalUserFactory(
            group=world.group,
            contact=world.stranger,
            user=UserFactory(email=world.stranger.email),
            status="active",
        )
    client = Client()
    client.force_login(other.user)
    assert client.get(detail(world, world.me) + f"attachments/{mine.pk}/").status_code == 404


def test_por7_crm_page_lists_notes_and_attachments_and_downloads(world):
    attachment = _attachment(world, world.me)
    with scopes_disabled():
        note_add(
            org=world.me.org,
            module="contacts",
            record_id=world.me.pk,
            body="Portal note",
            portal_user_id=world.portal_user.pk,
            author_name="Paula Portal",
        )
        admin = CrmUserFactory(org=world.me.org, is_super_admin=True)
    client = client_for(admin)
    org = world.me.org.slug
    page = client.get(f"/o/{org}/contacts/{world.me.pk}/").content.decode()
    assert "Portal note" in page and "Paula Portal" in page and "doc.pdf" in page
    url = f"/o/{org}/contacts/{world.me.pk}/attachments/{attachment.pk}/"
    assert f'href="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    # Another contact's address with this file: 404.
    other = f"/o/{org}/contacts/{world.colleague.pk}/attachments/{attachment.pk}/"
    assert client.get(other).status_code == 404


def test_por7_x6_crm_member_with_edit_adds_a_note_reader_cannot(world):
    with scopes_disabled():
        admin = CrmUserFactory(org=world.me.org, is_super_admin=True)
    client = client_for(admin)
    url = f"/o/{world.me.org.slug}/contacts/{world.me.pk}/notes/"
    assert client.post(url, {"body": "Called back"}).status_code == 302
    too_long = client.post(url, {"body": "y" * 10_001})
    assert too_long.status_code == 200 and "y" * 10_001 in too_long.content.decode()
    assert client.post(url, {"body": "a\x00b"}).status_code == 200  # no 500
    with scopes_disabled():
        note = Note.objects.get()
    assert note.author_crm_user == admin and note.body == "Called back"
