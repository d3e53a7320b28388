"""User import (IMP-2 … IMP-7) through the wizard pages and the services."""

import itertools
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled

from imports.services import (
    import_row_run,
    import_run,
    import_set_mapping,
    import_start,
    import_upload,
)
from invitations.models import Invitation
from tests.imports.wizard import WizardPages, csv_bytes, outcomes
from tests.users.factories import builtin_profile, role_named
from users.importing import USER_IMPORT, UserPlanner
from users.models import AuditLogEntry, CrmUser, UserImport, UserImportRow

PAGES = WizardPages(route="users/import/", model=UserImport, filename="users.csv")
url, upload, latest_import = PAGES.url, PAGES.upload, PAGES.latest_import
run_wizard = PAGES.run_wizard


HEADER = ["First name", "Last name", "Email", "Role", "Profile", "Phone"]


def test_imp5_licence_cap_in_file_order_worked_example(
    client_admin_a, org_a, admin_a, member_a, django_capture_on_commit_callbacks
):
    """3 licences, 2 used, a file of 5 new users → only the first is added."""
    rows = [HEADER] + [[f"N{i}", f"New{i}", f"new{i}@example.jp", "", "", ""] for i in range(5)]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    assert [o for o, _r in outcomes(imp)] == ["added"] + ["skipped"] * 4
    assert {r for o, r in outcomes(imp)[1:]} == {"No licence left."}
    with scopes_disabled():
        assert list(
            CrmUser.objects.filter(email__startswith="new").values_list("email", flat=True)
        ) == ["new0@example.jp"]
    result = client_admin_a.get(url(org_a, f"{imp.pk}/")).content.decode()
    assert 'id="count-added">1<' in result and 'id="count-skipped">4<' in result
    assert "No licence left." in result


@pytest.fixture
def existing(org_a, member_a):
    with scopes_disabled():
        member_a.first_name, member_a.phone, member_a.city = "Mark", "111", "Osaka"
        member_a.save()
    return member_a


MODES = ["add", "update", "both"]
KEYS = ["id", "email"]


@pytest.mark.parametrize(
    ("mode", "key", "keep_empty"), list(itertools.product(MODES, KEYS, [True, False]))
)
def test_imp2_every_mode_match_key_and_keep_empty(
    client_admin_a,
    org_a,
    admin_a,
    existing,
    django_capture_on_commit_callbacks,
    mode,
    key,
    keep_empty,
):
    org_a.plan, org_a.purchased_licences = "paid", 10
    org_a.save()
    header = ["User ID", "First name", "Last name", "Email", "Phone", "City"]
    rows = [
        header,
        [str(existing.pk), "Marcus", existing.last_name, existing.email, "", "Kyoto"],
        ["", "Yuki", "Mori", "yuki@example.jp", "222", ""],
    ]
    imp = run_wizard(
        client_admin_a,
        org_a,
        rows,
        django_capture_on_commit_callbacks,
        mode=mode,
        match_key=key,
        keep_empty=keep_empty,
    )
    got = [o for o, _r in outcomes(imp)]
    expected = {
        "add": ["skipped", "added"],
        "update": ["updated", "skipped"],
        "both": ["updated", "added"],
    }[mode]
    assert got == expected
    with scopes_disabled():
        mark = CrmUser.objects.get(pk=existing.pk)
        yuki = CrmUser.objects.filter(email="yuki@example.jp").first()
    if mode == "add":
        assert (mark.first_name, mark.phone, mark.city) == ("Mark", "111", "Osaka")
    else:
        assert (mark.first_name, mark.city) == ("Marcus", "Kyoto")
        assert mark.phone == ("111" if keep_empty else "")
    if mode == "update":
        assert yuki is None
    else:
        assert (yuki.status, yuki.phone, yuki.role.name, yuki.profile.name) == (
            "unconfirmed",
            "222",
            "Manager",
            "Standard",
        )


def test_imp3_role_and_profile_by_name_or_id_with_defaults(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    org_a.plan, org_a.purchased_licences = "paid", 10
    org_a.save()
    ceo = role_named(org_a, "CEO")
    admin_profile = builtin_profile(org_a, "administrator")
    rows = [
        HEADER,
        ["A", "ByName", "a@example.jp", "ceo", "administrator", ""],
        ["B", "ById", "b@example.jp", str(ceo.pk), str(admin_profile.pk), ""],
        ["C", "Defaults", "c@example.jp", "", "", ""],
        ["D", "Japanese", "d@example.jp", "Manager", "スタンダード", ""],
        ["E", "Unknown", "e@example.jp", "Astronaut", "", ""],
        ["F", "UnknownId", "f@example.jp", "", "99999", ""],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    with scopes_disabled():
        got = {
            m.last_name: (m.role.name, m.profile.name)
            for m in CrmUser.objects.filter(
                email__in=["a@example.jp", "b@example.jp", "c@example.jp", "d@example.jp"]
            )
        }
    assert got == {
        "ByName": ("CEO", "Administrator"),
        "ById": ("CEO", "Administrator"),
        "Defaults": ("Manager", "Standard"),
        "Japanese": ("Manager", "Standard"),
    }
    assert outcomes(imp)[4:] == [
        ("failed", "No role is named or numbered “Astronaut”."),
        ("failed", "No profile is named or numbered “99999”."),
    ]


def test_imp4_imported_users_get_no_invitation_until_reinvited(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    rows = [HEADER, ["Yuki", "Mori", "yuki@example.jp", "", "", ""]]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    with scopes_disabled():
        assert not Invitation.objects.exists()
    assert mail.outbox == []
    result = client_admin_a.get(url(org_a, f"{imp.pk}/")).content.decode()
    assert "Re-invite the 1 user just imported" in result
    with django_capture_on_commit_callbacks(execute=True):
        client_admin_a.post(url(org_a, f"{imp.pk}/reinvite/"))
    assert [m.to for m in mail.outbox] == [["yuki@example.jp"]]


def test_imp2_bad_rows_are_reported_one_by_one(
    client_admin_a, org_a, admin_a, member_a, django_capture_on_commit_callbacks
):
    org_a.plan, org_a.purchased_licences = "paid", 10
    org_a.save()
    rows = [
        HEADER,
        ["A", "", "a@example.jp", "", "", ""],
        ["B", "Bad", "not-an-email", "", "", ""],
        ["C", "Twice", "twice@example.jp", "", "", ""],
        ["D", "Twice", "TWICE@example.jp", "", "", ""],
        ["E", "Member", member_a.email, "", "", ""],
        ["F", "Nomail", "", "", "", ""],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    assert outcomes(imp) == [
        ("failed", "Last name is required."),
        ("failed", "“not-an-email” is not a valid email address."),
        ("added", ""),
        ("skipped", "twice@example.jp appears earlier in the file (row 4)."),
        ("skipped", f"{member_a.email} is already a user."),
        ("failed", "Email address is required for a new user."),
    ]


def test_imp2_preview_shows_what_each_row_will_do_and_writes_nothing(
    client_admin_a, org_a, admin_a, member_a
):
    upload(
        client_admin_a,
        org_a,
        [HEADER, ["Y", "Mori", "yuki@example.jp", "", "", ""], ["X", "Bad", "nope", "", "", ""]],
    )
    imp = latest_import(org_a)
    client_admin_a.post(url(org_a, f"{imp.pk}/options/"), {"mode": "add", "match_key": "email"})
    client_admin_a.post(url(org_a, f"{imp.pk}/columns/"), imp.mapping)
    body = client_admin_a.get(url(org_a, f"{imp.pk}/preview/")).content.decode()
    assert "1 added, 0 updated, 0 skipped, 1 with errors" in body
    assert "“nope” is not a valid email address." in body
    with scopes_disabled():
        assert not CrmUser.objects.filter(email="yuki@example.jp").exists()
        assert UserImportRow.objects.filter(outcome="pending").count() == 2


def test_imp2_columns_are_auto_mapped_from_japanese_headers(client_admin_a, org_a, admin_a):
    upload(
        client_admin_a,
        org_a,
        [
            ["名", "姓", "メールアドレス", "役職", "プロファイル", "電話番号"],
            ["太郎", "山田", "taro@example.jp", "", "", ""],
        ],
        encoding="cp932",
    )
    imp = latest_import(org_a)
    assert imp.mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "role",
        "4": "profile",
        "5": "phone",
    }
    with scopes_disabled():
        assert imp.rows.get().values[:2] == ["太郎", "山田"]


def test_imp2_each_step_keeps_what_was_chosen(client_admin_a, org_a, admin_a):
    upload(client_admin_a, org_a, [HEADER, ["Y", "Mori", "yuki@example.jp", "", "", ""]])
    imp = latest_import(org_a)
    client_admin_a.post(url(org_a, f"{imp.pk}/options/"), {"mode": "both", "match_key": "id"})
    back = client_admin_a.get(url(org_a, f"{imp.pk}/options/")).content.decode()
    assert re.search(r'value="both"[^>]*checked', back)
    assert re.search(r'value="id"[^>]*checked', back)
    assert not re.search(r'name="keep_empty"[^>]*checked', back)
    mapping = {**imp.mapping, "5": ""}
    mapping["0"] = ""
    client_admin_a.post(url(org_a, f"{imp.pk}/columns/"), mapping)  # refused: no user ID column
    columns = client_admin_a.get(url(org_a, f"{imp.pk}/columns/")).content.decode()
    assert "selected" in columns.split('name="1"')[1].split("</select>")[0]


def test_imp2_missing_required_columns_are_refused(client_admin_a, org_a, admin_a):
    upload(client_admin_a, org_a, [HEADER, ["Y", "Mori", "yuki@example.jp", "", "", ""]])
    imp = latest_import(org_a)
    client_admin_a.post(url(org_a, f"{imp.pk}/options/"), {"mode": "add", "match_key": "email"})
    response = client_admin_a.post(url(org_a, f"{imp.pk}/columns/"), {**imp.mapping, "2": ""})
    assert "Choose a column for: Email address." in response.content.decode()
    twice = client_admin_a.post(url(org_a, f"{imp.pk}/columns/"), {**imp.mapping, "5": "email"})
    assert "Each field can take only one column: Email address." in twice.content.decode()


def test_imp1_1001_rows_are_refused_before_anything_is_written(client_admin_a, org_a, admin_a):
    rows = [HEADER] + [["A", f"L{i}", f"u{i}@example.jp", "", "", ""] for i in range(1001)]
    response = upload(client_admin_a, org_a, rows)
    body = response.content.decode()
    assert response.status_code == 200
    assert "The file has more than 1000 data rows." in body
    with scopes_disabled():
        assert not UserImport.objects.exists() and not UserImportRow.objects.exists()


def test_imp1_wrong_file_type_is_refused_in_the_users_language(client_admin_a, org_a, admin_a):
    client_admin_a.post("/language/", {"language": "ja"})
    png = SimpleUploadedFile("users.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    body = client_admin_a.post(url(org_a), {"file": png}).content.decode()
    assert 'lang="ja"' in body
    assert "Excel（.xlsx、.xls）または CSV ファイルではありません。" in body
    assert "This is not an Excel" not in body
    with scopes_disabled():
        assert not UserImport.objects.exists()


def test_imp7_rerun_after_a_crash_neither_duplicates_nor_loses_rows(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    org_a.plan, org_a.purchased_licences = "paid", 20
    org_a.save()
    rows = [HEADER] + [["A", f"L{i}", f"u{i}@example.jp", "", "", ""] for i in range(12)]
    with scope(org=org_a):
        imp = import_upload(
            kind=USER_IMPORT, org=org_a, actor=admin_a, filename="u.csv", data=csv_bytes(rows)
        )
        import_set_mapping(kind=USER_IMPORT, imp=imp, actor=admin_a, mapping=imp.mapping)
        with django_capture_on_commit_callbacks(execute=False):
            import_start(kind=USER_IMPORT, imp=imp, actor=admin_a)
        # A worker processed the first 5 rows and died before finishing.
        first = list(imp.rows.order_by("row_number")[:5])
        planner = UserPlanner(imp=imp, rows=first)
        for row in first:
            import_row_run(kind=USER_IMPORT, planner=planner, row=row)
        import_run(kind=USER_IMPORT, import_id=imp.pk)
        import_run(kind=USER_IMPORT, import_id=imp.pk)  # and a duplicate delivery
    with scopes_disabled():
        assert CrmUser.objects.filter(email__startswith="u").count() == 12
        assert set(imp.rows.values_list("outcome", flat=True)) == {"added"}
        assert AuditLogEntry.objects.filter(action="user.imported").count() == 12
    imp.refresh_from_db()
    assert imp.status == "done" and imp.processed_rows == 12


def test_imp6_failed_rows_file_neutralises_formulas(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    rows = [HEADER, ['=HYPERLINK("http://evil")', "Bad", "nope", "", "", "+81"]]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    response = client_admin_a.get(url(org_a, f"{imp.pk}/failed.csv"))
    text = response.content.decode("utf-8-sig")
    assert response["Content-Disposition"].startswith("attachment;")
    assert text.splitlines()[0] == ",".join([*HEADER, "Error"])
    assert "'=HYPERLINK" in text and "'+81" in text
    assert "“nope” is not a valid email address." in text
    xlsx = client_admin_a.get(url(org_a, f"{imp.pk}/failed.xlsx"))
    assert xlsx.content[:2] == b"PK"
    assert client_admin_a.get(url(org_a, f"{imp.pk}/failed.exe")).status_code == 404


def test_imp1_sample_files_in_the_users_language(client_admin_a, org_a, admin_a):
    english = client_admin_a.get(url(org_a, "sample.csv")).content.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("First name,Last name,Email address,Role,Profile")
    client_admin_a.post("/language/", {"language": "ja"})
    japanese = client_admin_a.get(url(org_a, "sample.csv")).content.decode("utf-8-sig")
    assert japanese.splitlines()[0].startswith("名,姓,メールアドレス")
    assert client_admin_a.get(url(org_a, "sample.xlsx")).content[:2] == b"PK"


def test_imp6_history_lists_past_imports(
    client_admin_a, org_a, admin_a, django_capture_on_commit_callbacks
):
    run_wizard(
        client_admin_a,
        org_a,
        [HEADER, ["Y", "Mori", "y@example.jp", "", "", ""]],
        django_capture_on_commit_callbacks,
    )
    body = client_admin_a.get(url(org_a, "history/")).content.decode()
    assert "users.csv" in body and "Finished" in body


def test_imp_standard_user_gets_403(client_member_a, org_a, member_a):
    for suffix in ("", "history/", "sample.csv"):
        assert client_member_a.get(url(org_a, suffix)).status_code == 403
    file = SimpleUploadedFile("u.csv", csv_bytes([HEADER]), content_type="text/csv")
    assert client_member_a.post(url(org_a), {"file": file}).status_code == 403


def test_imp_started_import_cannot_be_reconfigured(
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
    with scopes_disabled():
        assert UserImport.objects.get(pk=imp.pk).mode == "add"


def test_imp1_other_users_admin_sees_their_own_team_only(
    client_admin_b, org_a, org_b, admin_b, admin_a, django_capture_on_commit_callbacks
):
    """An import in org B matching org A's member email creates a separate B user."""
    rows = [HEADER, ["A", "Alpha", admin_a.email, "", "", ""]]
    imp = run_wizard(client_admin_b, org_b, rows, django_capture_on_commit_callbacks)
    assert [o for o, _r in outcomes(imp)] == ["added"]
    with scopes_disabled():
        assert CrmUser.objects.get(org=org_a, email=admin_a.email).pk == admin_a.pk
        assert CrmUser.objects.filter(org=org_b, email=admin_a.email).count() == 1


def test_x1_upload_page_help_is_in_japanese(client_admin_a, org_a, admin_a):
    client_admin_a.post("/language/", {"language": "ja"})
    body = client_admin_a.get(url(org_a)).content.decode()
    assert "1000 行" in body and "at most 1000 rows" not in body


@pytest.fixture
def database_refuses_explode(db):
    """A PostgreSQL trigger that refuses one particular user, as a constraint we did not
    foresee would."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION refuse_explode() RETURNS trigger AS $$
            BEGIN
              IF NEW.last_name = 'Explode' THEN
                RAISE EXCEPTION 'the database refused this user';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_explode BEFORE INSERT ON users_crmuser
              FOR EACH ROW EXECUTE FUNCTION refuse_explode();
        """)
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER refuse_explode ON users_crmuser; DROP FUNCTION refuse_explode();"
        )


def test_imp7_a_row_the_database_refuses_fails_alone(
    client_admin_a, org_a, admin_a, database_refuses_explode, django_capture_on_commit_callbacks
):
    org_a.plan, org_a.purchased_licences = "paid", 10
    org_a.save()
    rows = [
        HEADER,
        ["A", "Fine", "a@example.jp", "", "", ""],
        ["B", "Explode", "b@example.jp", "", "", ""],
        ["C", "Fine", "c@example.jp", "", "", ""],
    ]
    imp = run_wizard(client_admin_a, org_a, rows, django_capture_on_commit_callbacks)
    got = outcomes(imp)
    assert [o for o, _r in got] == ["added", "failed", "added"]
    assert "the database refused this user" in got[1][1]
    with scopes_disabled():
        assert sorted(CrmUser.objects.filter(last_name="Fine").values_list("email", flat=True)) == [
            "a@example.jp",
            "c@example.jp",
        ]
        assert AuditLogEntry.objects.filter(action="user.imported").count() == 2
