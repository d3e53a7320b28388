"""Contact import through the wizard pages and the services: the user import's rules (IMP-1 …
IMP-7) applied to contacts, each row written by the record services with its event (REC-1,
REC-3), as the importer's profile and role allow (USR-1, USR-2)."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled

from imports.services import (
    import_row_run,
    import_run,
    import_set_mapping,
    import_start,
    import_upload,
)
from records.contact_import import CONTACT_IMPORT, ContactPlanner
from records.models import (
    Account,
    Contact,
    ContactImport,
    ContactImportRow,
    CustomField,
    RecordEvent,
)
from tests.conftest import client_for
from tests.imports.wizard import WizardPages, csv_bytes, outcomes
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory
from users.models import Profile, Role

HEADER = ["First name", "Last name", "Email", "Phone", "Account", "Owner"]


PAGES = WizardPages(route="contacts/import/", model=ContactImport, filename="contacts.csv")
url, upload, latest_import = PAGES.url, PAGES.upload, PAGES.latest_import
run_wizard = PAGES.run_wizard


def events_of(contact_ids):
    with scopes_disabled():
        return list(
            RecordEvent.objects.filter(module="contacts", record_id__in=contact_ids)
            .order_by("record_id", "pk")
            .values_list("record_id", "kind", "source")
        )


@pytest.fixture
def acme(org_a):
    with scopes_disabled():
        return Account.objects.create(org=org_a, name="Acme Corp")


def test_rec3_csv_import_adds_contacts_each_with_one_import_event(
    client_admin_a, org_a, admin_a, member_a, acme, django_capture_on_commit_callbacks
):
    rows = [
        HEADER,
        ["Yuki", "Mori", "Yuki@Example.jp", "+81 3 1234 5678", "acme corp", member_a.email],
        ["Ann", "Lee", "ann@example.com", "", "", ""],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    assert outcomes(imp) == [("added", ""), ("added", "")]
    assert (imp.status, imp.processed_rows) == ("done", 2)
    with scopes_disabled():
        yuki = Contact.objects.get(org=org_a, email="yuki@example.jp")
        ann = Contact.objects.get(org=org_a, email="ann@example.com")
        assert (yuki.account, yuki.owner, yuki.phone) == (acme, member_a, "+81 3 1234 5678")
        assert ann.owner == admin_a  # no owner given: the importer's
        assert list(imp.rows.values_list("contact", flat=True)) == [yuki.pk, ann.pk]
        event = RecordEvent.objects.get(record_id=yuki.pk)
        assert (event.actor, event.changes["last_name"]) == (admin_a, [None, "Mori"])
    assert events_of([yuki.pk, ann.pk]) == [
        (yuki.pk, "create", "import"),
        (ann.pk, "create", "import"),
    ]
    result = client_admin_a.get(url(org_a, f"{imp.pk}/")).content.decode()
    assert 'id="count-added">2<' in result and 'id="count-failed">0<' in result


def test_imp1_xlsx_import_through_the_wizard(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    rows = [
        ["Last name", "First name", "E-mail", "Country", "Subscription"],
        ["Dupont", "Marie", "marie@example.fr", "fr", "paid"],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks, name="c.xlsx")
    assert imp.file_format == "xlsx"
    assert imp.mapping == {
        "0": "last_name",
        "1": "first_name",
        "2": "email",
        "3": "country",
        "4": "subscription",
    }
    assert outcomes(imp) == [("added", "")]
    with scopes_disabled():
        marie = Contact.objects.get(org=org_a, last_name="Dupont")
    assert (marie.country, marie.subscription, marie.email) == ("FR", "paid", "marie@example.fr")


def test_rec3_update_mode_writes_events_only_for_changed_contacts(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        changed = ContactFactory(org=org_a, email="a@example.jp", last_name="Old", phone="111")
        same = ContactFactory(org=org_a, email="b@example.jp", last_name="Same", phone="222")
    rows = [
        ["Email", "Last name", "Phone"],
        ["A@example.jp", "New", ""],
        ["b@example.jp", "Same", "222"],
        ["nobody@example.jp", "Ghost", ""],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks, mode="update")
    assert outcomes(imp) == [
        ("updated", ""),
        ("skipped", "Nothing to change."),
        ("skipped", "No matching contact for nobody@example.jp."),
    ]
    with scopes_disabled():
        changed.refresh_from_db()
        assert (changed.last_name, changed.phone) == ("New", "111")  # empty cell kept
        event = RecordEvent.objects.get(record_id=changed.pk)
        assert event.changes == {"last_name": ["Old", "New"]}
        assert not Contact.objects.filter(last_name="Ghost").exists()
    assert events_of([changed.pk, same.pk]) == [(changed.pk, "update", "import")]
    result = client_admin_a.get(url(org_a, f"{imp.pk}/")).content.decode()
    assert 'id="count-updated">1<' in result and 'id="count-skipped">2<' in result
    assert "No matching contact for nobody@example.jp." in result


def test_imp2_update_by_contact_id_and_empty_cells_clear_when_asked(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        contact = ContactFactory(org=org_a, last_name="Old", phone="111", title="CEO")
    rows = [["Contact ID", "Last name", "Phone", "Title"], [str(contact.pk), "New", "", "CTO"]]
    imp = run_wizard(
        client_admin_a,
        org_a,
        rows,
        django_capture_on_commit_callbacks,
        mode="both",
        match_key="id",
        keep_empty=False,
    )
    assert outcomes(imp) == [("updated", "")]
    with scopes_disabled():
        contact.refresh_from_db()
    assert (contact.last_name, contact.phone, contact.title) == ("New", "", "CTO")


@pytest.fixture
def custom_fields(org_a):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="score", label="Score", field_type="number"
        )
        CustomField.objects.create(
            org=org_a,
            module="contacts",
            key="tier",
            label="Tier",
            field_type="picklist",
            choices=["Gold", "Silver"],
        )


def test_rec1_custom_fields_are_mapped_and_validated_row_by_row(
    client_admin_a, org_a, admin_a, custom_fields, django_capture_on_commit_callbacks
):
    rows = [
        ["Last name", "Score", "Tier"],
        ["Good", "42", "Gold"],
        ["BadScore", "lots", "Silver"],
        ["BadBoth", "x", "Bronze"],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    assert imp.mapping == {"0": "last_name", "1": "score", "2": "tier"}
    assert outcomes(imp) == [
        ("added", ""),
        ("failed", "Score: Score must be a number."),
        (
            "failed",
            "Score: Score must be a number.; Tier: “Bronze” is not one of the choices of Tier.",
        ),
    ]
    with scopes_disabled():
        good = Contact.objects.get(org=org_a, last_name="Good")
        assert good.custom == {"score": 42, "tier": "Gold"}
        assert Contact.objects.filter(org=org_a).count() == 1
        assert RecordEvent.objects.filter(org=org_a).count() == 1


def test_imp3_unknown_account_or_owner_fails_the_row_and_creates_no_account(
    client_admin_a, org_a, admin_a, acme, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        gone = CrmUserFactory(org=org_a, status="deactivated")
    rows = [
        HEADER,
        ["A", "NoAccount", "a@example.jp", "", "Initech", ""],
        ["B", "NoOwner", "b@example.jp", "", "ACME CORP", "stranger@example.net"],
        ["C", "GoneOwner", "c@example.jp", "", "", gone.email],
        ["D", "Fine", "d@example.jp", "", "Acme Corp", admin_a.email.upper()],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    assert outcomes(imp) == [
        ("failed", "Account: No account is named “Initech”. Create it first, then import again."),
        (
            "failed",
            "Owner: No CRM user of this organisation has the email address stranger@example.net.",
        ),
        (
            "failed",
            f"Owner: No CRM user of this organisation has the email address {gone.email}.",
        ),
        ("added", ""),
    ]
    with scopes_disabled():
        assert list(Account.objects.filter(org=org_a).values_list("name", flat=True)) == [
            "Acme Corp"
        ]
        assert list(Contact.objects.values_list("last_name", "account", "owner")) == [
            ("Fine", acme.pk, admin_a.pk)
        ]


def test_imp2_duplicate_email_in_the_file_is_skipped_with_the_earlier_row(
    client_admin_a, org_a, admin_a, settings, django_capture_on_commit_callbacks
):
    settings.USER_IMPORT_BATCH_SIZE = 2  # the earlier row was written by an earlier batch
    rows = [
        HEADER,
        ["A", "First", "twice@example.jp", "", "", ""],
        ["B", "Bad", "not-an-email", "", "", ""],
        ["C", "Second", "TWICE@example.jp", "", "", ""],
        ["D", "NoEmail", "", "", "", ""],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    assert outcomes(imp) == [
        ("added", ""),
        ("failed", "Email: “not-an-email” is not a valid email address."),
        ("skipped", "twice@example.jp appears earlier in the file (row 2)."),
        ("added", ""),
    ]
    with scopes_disabled():
        assert Contact.objects.filter(email="twice@example.jp").count() == 1


def test_imp2_add_mode_skips_contacts_that_exist(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        ContactFactory(org=org_a, email="known@example.jp")
    rows = [HEADER, ["K", "Known", "Known@example.jp", "", "", ""]]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    assert outcomes(imp) == [("skipped", "known@example.jp is already a contact.")]
    with scopes_disabled():
        assert Contact.objects.filter(email="known@example.jp").count() == 1


def test_imp2_preview_shows_what_each_row_will_do_and_writes_nothing(
    client_admin_a, org_a, admin_a
):
    upload(
        client_admin_a,
        org_a,
        [
            HEADER,
            ["Y", "Mori", "yuki@example.jp", "", "", ""],
            ["X", "", "x@example.jp", "", "", ""],
        ],
    )
    imp = latest_import(org_a)
    client_admin_a.post(url(org_a, f"{imp.pk}/options/"), {"mode": "add", "match_key": "email"})
    client_admin_a.post(url(org_a, f"{imp.pk}/columns/"), imp.mapping)
    body = client_admin_a.get(url(org_a, f"{imp.pk}/preview/")).content.decode()
    assert "1 added, 0 updated, 0 skipped, 1 with errors" in body
    assert "Last name: Last name is required." in body
    with scopes_disabled():
        assert not Contact.objects.exists() and not RecordEvent.objects.exists()
        assert ContactImportRow.objects.filter(outcome="pending").count() == 2


def test_imp1_1001_rows_are_refused_before_anything_is_stored(client_admin_a, org_a, admin_a):
    rows = [HEADER] + [["A", f"L{i}", f"c{i}@example.jp", "", "", ""] for i in range(1001)]
    response = upload(client_admin_a, org_a, rows)
    assert response.status_code == 200
    assert "The file has more than 1000 data rows." in response.content.decode()
    with scopes_disabled():
        assert not ContactImport.objects.exists() and not ContactImportRow.objects.exists()


def test_imp2_japanese_headers_are_auto_mapped_from_a_cp932_csv(
    client_admin_a, org_a, admin_a, custom_fields
):
    upload(
        client_admin_a,
        org_a,
        [
            ["姓", "名", "メール", "電話", "会社名", "担当者", "役職", "Score", "連絡先ID"],
            ["山田", "太郎", "taro@example.jp", "03-1234-5678", "", "", "部長", "1", ""],
        ],
        encoding="cp932",
    )
    imp = latest_import(org_a)
    assert imp.encoding == "cp932"
    assert imp.mapping == {
        "0": "last_name",
        "1": "first_name",
        "2": "email",
        "3": "phone",
        "4": "account",
        "5": "owner",
        "6": "title",
        "7": "score",
        "8": "id",
    }
    with scopes_disabled():
        assert imp.rows.get().values[:2] == ["山田", "太郎"]


def test_imp2_required_columns_and_each_field_once(client_admin_a, org_a, admin_a):
    upload(client_admin_a, org_a, [HEADER, ["Y", "Mori", "y@example.jp", "", "", ""]])
    imp = latest_import(org_a)
    client_admin_a.post(url(org_a, f"{imp.pk}/options/"), {"mode": "both", "match_key": "id"})
    response = client_admin_a.post(url(org_a, f"{imp.pk}/columns/"), {**imp.mapping, "1": ""})
    assert "Choose a column for: Last name, Contact ID." in response.content.decode()
    twice = client_admin_a.post(url(org_a, f"{imp.pk}/columns/"), {**imp.mapping, "3": "email"})
    assert "Each field can take only one column: Email." in twice.content.decode()


def test_imp6_failed_rows_file_neutralises_formulas(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    rows = [HEADER, ['=HYPERLINK("http://evil")', "Bad", "nope", "+81", "", ""]]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    response = client_admin_a.get(url(org_a, f"{imp.pk}/failed.csv"))
    text = response.content.decode("utf-8-sig")
    assert response["Content-Disposition"].startswith("attachment;")
    assert text.splitlines()[0] == ",".join([*HEADER, "Error"])
    assert "'=HYPERLINK" in text and "'+81" in text
    assert "Email: “nope” is not a valid email address." in text
    xlsx = client_admin_a.get(url(org_a, f"{imp.pk}/failed.xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A2"].value == '\'=HYPERLINK("http://evil")'
    assert client_admin_a.get(url(org_a, f"{imp.pk}/failed.exe")).status_code == 404


def test_imp7_rerun_after_a_partial_run_creates_no_duplicates(
    org_a, admin_a, settings, django_capture_on_commit_callbacks
):
    settings.USER_IMPORT_BATCH_SIZE = 4
    rows = [HEADER] + [["A", f"L{i}", f"c{i}@example.jp", "", "", ""] for i in range(10)]
    with scope(org=org_a):
        imp = import_upload(
            kind=CONTACT_IMPORT, org=org_a, actor=admin_a, filename="c.csv", data=csv_bytes(rows)
        )
        import_set_mapping(kind=CONTACT_IMPORT, imp=imp, actor=admin_a, mapping=imp.mapping)
        with django_capture_on_commit_callbacks(execute=False):
            import_start(kind=CONTACT_IMPORT, imp=imp, actor=admin_a)
        # A worker wrote the first 3 rows and died before finishing its batch's bookkeeping.
        first = list(imp.rows.order_by("row_number")[:3])
        planner = ContactPlanner(imp=imp, rows=first)
        for row in first:
            import_row_run(kind=CONTACT_IMPORT, planner=planner, row=row)
        import_run(kind=CONTACT_IMPORT, import_id=imp.pk)
        import_run(kind=CONTACT_IMPORT, import_id=imp.pk)  # and a duplicate delivery
    with scopes_disabled():
        contacts = list(Contact.objects.filter(org=org_a).values_list("pk", flat=True))
        assert len(contacts) == 10
        assert set(imp.rows.values_list("outcome", flat=True)) == {"added"}
    assert events_of(contacts) == [(pk, "create", "import") for pk in sorted(contacts)]
    imp.refresh_from_db()
    assert imp.status == "done" and imp.processed_rows == 10


def test_imp7_a_rerun_of_the_same_file_in_both_mode_updates_instead_of_duplicating(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    rows = [HEADER, ["Y", "Mori", "yuki@example.jp", "", "", ""]]
    run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    rows[1][0] = "Yukiko"
    again = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks, mode="both")
    assert outcomes(again) == [("updated", "")]
    with scopes_disabled():
        assert list(Contact.objects.values_list("first_name", flat=True)) == ["Yukiko"]


@pytest.fixture
def viewer_only(org_a):
    """A user whose custom profile allows no record changes."""
    with scopes_disabled():
        profile = Profile.objects.create(org=org_a, name="Read only", permissions=[])
        return CrmUserFactory(org=org_a, profile=profile)


def test_usr1_member_without_contacts_create_or_edit_gets_403(viewer_only, org_a, admin_a):
    client = client_for(viewer_only)
    assert "Import contacts" not in client.get(f"/o/{org_a.slug}/contacts/").content.decode()
    for suffix in ("", "history/", "sample.csv"):
        assert client.get(url(org_a, suffix)).status_code == 403
    assert upload(client, org_a, [HEADER, ["A", "B", "", "", "", ""]]).status_code == 403
    with scopes_disabled():
        imp = ContactImport.objects.create(org=org_a, created_by=viewer_only, headers=HEADER)
    for suffix in ("", "options/", "columns/", "preview/"):
        assert client.get(url(org_a, f"{imp.pk}/{suffix}")).status_code == 403
    assert client.post(url(org_a, f"{imp.pk}/preview/")).status_code == 403
    with scopes_disabled():
        assert ContactImport.objects.get(pk=imp.pk).status == "uploaded"
        assert not Contact.objects.exists()


def test_usr1_edit_only_member_may_update_but_not_add(org_a, admin_a):
    with scopes_disabled():
        profile = Profile.objects.create(org=org_a, name="Editors", permissions=["contacts.edit"])
        editor = CrmUserFactory(org=org_a, profile=profile)
    client = client_for(editor)
    upload(client, org_a, [HEADER, ["A", "B", "a@example.jp", "", "", ""]])
    imp = latest_import(org_a)
    assert imp.mode == "update"
    options = client.get(url(org_a, f"{imp.pk}/options/")).content.decode()
    assert 'value="update"' in options and 'value="add"' not in options
    forged = client.post(url(org_a, f"{imp.pk}/options/"), {"mode": "add", "match_key": "email"})
    assert forged.status_code == 403
    assert latest_import(org_a).mode == "update"


def test_usr2_update_matches_only_contacts_the_member_sees(
    org_a, admin_a, member_a, django_capture_on_commit_callbacks
):
    """A Standard member of the Manager role sees their own contacts and those below; the
    admin's contact is no matching contact, and stays as it was."""
    with scopes_disabled():
        own = ContactFactory(org=org_a, owner=member_a, email="own@example.jp", last_name="Own")
        hidden = ContactFactory(org=org_a, owner=admin_a, email="boss@example.jp", last_name="B")
    rows = [["Email", "Last name"], ["own@example.jp", "Changed"], ["boss@example.jp", "Hacked"]]
    imp = run_wizard(
        client_for(member_a), org_a, rows, django_capture_on_commit_callbacks, mode="update"
    )
    assert outcomes(imp) == [
        ("updated", ""),
        ("skipped", "No matching contact for boss@example.jp."),
    ]
    with scopes_disabled():
        own.refresh_from_db()
        hidden.refresh_from_db()
    assert (own.last_name, hidden.last_name) == ("Changed", "B")


def test_usr2_a_member_sees_only_their_own_imports(
    client_admin_a, org_a, admin_a, member_a, django_capture_on_commit_callbacks
):
    imp = run_wizard(
        client_admin_a,
        org_a,
        [HEADER, ["A", "Secret", "s@example.jp", "", "", ""]],
        django_capture_on_commit_callbacks,
    )
    member = client_for(member_a)
    assert member.get(url(org_a, f"{imp.pk}/")).status_code == 404
    assert member.get(url(org_a, f"{imp.pk}/failed.csv")).status_code == 404
    assert "contacts.csv" not in member.get(url(org_a, "history/")).content.decode()
    assert "contacts.csv" in client_admin_a.get(url(org_a, "history/")).content.decode()


def test_imp_started_import_cannot_be_reconfigured_and_resume_is_post_only(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    imp = run_wizard(
        client_admin_a,
        org_a,
        [HEADER, ["Y", "Mori", "y@example.jp", "", "", ""]],
        django_capture_on_commit_callbacks,
    )
    for step in ("options/", "columns/", "preview/"):
        response = client_admin_a.post(url(org_a, f"{imp.pk}/{step}"), {"mode": "update"})
        assert response["Location"] == url(org_a, f"{imp.pk}/")
    assert latest_import(org_a).mode == "add"
    assert client_admin_a.get(url(org_a, f"{imp.pk}/resume/")).status_code == 405
    with scopes_disabled():
        assert Contact.objects.count() == 1


def test_imp6_progress_polls_until_done_then_redirects(client_admin_a, org_a, admin_a):
    upload(client_admin_a, org_a, [HEADER, ["Y", "Mori", "y@example.jp", "", "", ""]])
    imp = latest_import(org_a)
    with scopes_disabled():
        ContactImport.objects.filter(pk=imp.pk).update(status="running")
    running = client_admin_a.get(url(org_a, f"{imp.pk}/")).content.decode()
    assert f'hx-get="{url(org_a, f"{imp.pk}/progress/")}"' in running
    partial = client_admin_a.get(url(org_a, f"{imp.pk}/progress/"), headers={"HX-Request": "true"})
    assert 'id="processed-rows">0<' in partial.content.decode()
    with scopes_disabled():
        ContactImport.objects.filter(pk=imp.pk).update(status="done")
    done = client_admin_a.get(url(org_a, f"{imp.pk}/progress/"), headers={"HX-Request": "true"})
    assert done["HX-Redirect"] == url(org_a, f"{imp.pk}/")


def test_imp1_sample_files_in_the_users_language_map_back(
    client_admin_a, org_a, admin_a, custom_fields
):
    english = client_admin_a.get(url(org_a, "sample.csv")).content.decode("utf-8-sig")
    header = english.splitlines()[0].split(",")
    assert header[:3] == ["First name", "Last name", "Email"]
    assert {"Account", "Owner", "Score", "Tier"} <= set(header)
    client_admin_a.post("/language/", {"language": "ja"})
    japanese = client_admin_a.get(url(org_a, "sample.csv")).content.decode("utf-8-sig")
    assert japanese.splitlines()[0].startswith("名,姓,メール")
    xlsx = client_admin_a.get(url(org_a, "sample.xlsx"))
    client_admin_a.post(url(org_a), {"file": SimpleUploadedFile("s.xlsx", xlsx.content)})
    imp = latest_import(org_a)
    assert set(imp.mapping) == {str(i) for i in range(len(imp.headers))}  # every column


def test_imp6_history_query_count_does_not_grow_with_imports(
    client_admin_a, org_a, admin_a, django_assert_num_queries
):
    with scopes_disabled():
        for n in range(12):
            ContactImport.objects.create(org=org_a, created_by=admin_a, filename=f"f{n}.csv")
    # Session, account, membership, count, page (the header's org switcher needs no statement
    # since issue 21: the membership gives its one org).
    with django_assert_num_queries(5):
        body = client_admin_a.get(url(org_a, "history/")).content.decode()
    assert "f11.csv" in body and "f0.csv" in body


def test_rec2_contact_list_offers_the_import_to_members_who_may_create(
    client_admin_a, org_a, admin_a
):
    body = client_admin_a.get(f"/o/{org_a.slug}/contacts/").content.decode()
    assert f'href="{url(org_a)}"' in body


def test_usr2_new_contacts_are_the_importers_so_a_rep_sees_what_they_added(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        rep = CrmUserFactory(
            org=org_a,
            role=Role.objects.create(
                org=org_a, name="Rep", parent=Role.objects.get(org=org_a, name="Manager")
            ),
        )
    rows = [HEADER, ["N", "New", "n@example.jp", "", "", ""]]
    run_wizard(client_for(rep), org_a, rows, django_capture_on_commit_callbacks)
    listing = client_for(rep).get(f"/o/{org_a.slug}/contacts/").content.decode()
    assert "n@example.jp" in listing
