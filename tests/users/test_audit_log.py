"""The audit log page (USR-9): who did what to whom, when and from which IP — filtered,
paginated, exported — for user managers only; times follow the viewer (USR-6)."""

import csv
import datetime
import io

import pytest
from django_scopes import scopes_disabled

from tests.users.factories import CrmUserFactory
from users.audit import audit_log_write
from users.models import AuditLogEntry, CrmUser

UTC = datetime.UTC


def log_url(org, query=""):
    return f"/o/{org.slug}/settings/audit-log/{query}"


def export_url(org, query=""):
    return f"/o/{org.slug}/settings/audit-log/export.csv{query}"


def write(org, *, actor, action, target=None, at=None, ip="198.51.100.7", details=None):
    with scopes_disabled():
        entry = audit_log_write(
            org=org, actor=actor, action=action, target=target, ip=ip, details=details
        )
        if at is not None:
            AuditLogEntry.objects.filter(pk=entry.pk).update(created_at=at)
    return entry


def set_preferences(membership, **values):
    with scopes_disabled():
        CrmUser.objects.filter(pk=membership.pk).update(**values)


def rows_of(body: str) -> int:
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    return table.count("<tr>")


def test_usr9_page_shows_who_what_whom_when_and_ip(client_admin_a, org_a, admin_a, member_a):
    write(
        org_a,
        actor=admin_a,
        action="user.details_changed",
        target=member_a,
        at=datetime.datetime(2025, 3, 9, 21, 30, tzinfo=UTC),
        ip="203.0.113.9",
        details={"fields": ["city", "phone"]},
    )

    body = client_admin_a.get(log_url(org_a)).content.decode()

    assert "03/09/2025 9:30 PM" in body, "admin_a's defaults: en_US, 12 h, UTC"
    assert f"Alice Admin &lt;{admin_a.email}&gt;" in body
    assert "User details changed" in body
    assert f"Mark Member &lt;{member_a.email}&gt;" in body
    assert "203.0.113.9" in body
    assert "Changed: City, Phone." in body, "details as a sentence, not key: value"


def test_usr9_newest_first_and_unknown_codes_shown_raw(client_admin_a, org_a, admin_a):
    write(org_a, actor=admin_a, action="role.changed", at=datetime.datetime(2025, 1, 1, tzinfo=UTC))
    write(
        org_a, actor=admin_a, action="portal.renamed", at=datetime.datetime(2025, 2, 1, tzinfo=UTC)
    )
    body = client_admin_a.get(log_url(org_a)).content.decode()
    assert body.index("portal.renamed</td>") < body.index("Role changed</td>")


def test_usr9_an_action_through_the_ui_lands_in_the_log(client_admin_a, org_a, member_a):
    client_admin_a.post(
        f"/o/{org_a.slug}/users/{member_a.pk}/details/",
        {
            "last_name": "Member",
            "language": "en",
            "locale": "en_GB",
            "date_format": "d/m/Y",
            "time_format": "24",
            "time_zone": "Europe/London",
        },
    )
    body = client_admin_a.get(log_url(org_a)).content.decode()
    assert rows_of(body) == 1
    assert "User details changed" in body and "127.0.0.1" in body


def test_usr9_same_entry_two_viewers_two_renderings(org_a, admin_a, member_a):
    from users.models import Profile

    with scopes_disabled():
        second_admin = CrmUserFactory(
            org=org_a, profile=Profile.objects.get(org=org_a, builtin=Profile.ADMINISTRATOR)
        )
    set_preferences(admin_a, date_format="m/d/Y", time_format="12", time_zone="America/New_York")
    set_preferences(
        second_admin,
        locale="ja_JP",
        date_format="Y年n月j日",
        time_format="24",
        time_zone="Asia/Tokyo",
    )
    write(
        org_a,
        actor=admin_a,
        action="user.deactivated",
        target=member_a,
        at=datetime.datetime(2025, 7, 4, 16, 0, tzinfo=UTC),
    )
    from tests.conftest import client_for

    assert "07/04/2025 12:00 PM" in client_for(admin_a).get(log_url(org_a)).content.decode()
    assert "2025年7月5日 01:00" in client_for(second_admin).get(log_url(org_a)).content.decode()


def test_usr9_standard_member_gets_403(client_member_a, org_a):
    assert client_member_a.get(log_url(org_a)).status_code == 403
    assert client_member_a.get(export_url(org_a)).status_code == 403


def test_usr9_outsider_gets_404(client_admin_b, org_a):
    assert client_admin_b.get(log_url(org_a)).status_code == 404
    assert client_admin_b.get(export_url(org_a)).status_code == 404


def test_usr9_wrong_method_is_refused(client_admin_a, org_a):
    assert client_admin_a.post(log_url(org_a)).status_code == 405
    assert client_admin_a.post(export_url(org_a)).status_code == 405


def test_usr9_empty_log_says_so(client_admin_a, org_a, admin_b):
    write(admin_b.org, actor=admin_b, action="user.added", target=admin_b)
    body = client_admin_a.get(log_url(org_a)).content.decode()
    assert "Nothing has been logged yet." in body
    assert "Boss" not in body, "another org's entries never show"


@pytest.fixture
def varied_log(org_a, admin_a, member_a):
    """Four entries on three days, by two people, about two people."""
    day = datetime.datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    write(org_a, actor=admin_a, action="user.added", target=member_a, at=day)
    write(
        org_a,
        actor=admin_a,
        action="user.deactivated",
        target=member_a,
        at=day + datetime.timedelta(days=1),
    )
    write(
        org_a,
        actor=member_a,
        action="user.details_changed",
        target=member_a,
        at=day + datetime.timedelta(days=2),
    )
    write(
        org_a,
        actor=admin_a,
        action="user.details_changed",
        target=admin_a,
        at=day + datetime.timedelta(days=2, hours=1),
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 4),
        ("?action=user.details_changed", 2),
        ("?actor={member_a}", 1),
        ("?target=mark", 3),
        ("?date_from=2025-05-02", 3),
        ("?date_to=2025-05-02", 2),
        ("?date_from=2025-05-02&date_to=2025-05-02", 1),
        ("?action=user.details_changed&actor={admin_a}&target=alice", 1),
        ("?target=nobody", 0),
    ],
)
def test_usr9_filters(client_admin_a, org_a, admin_a, member_a, varied_log, query, expected):
    query = query.format(admin_a=admin_a.pk, member_a=member_a.pk)
    body = client_admin_a.get(log_url(org_a, query)).content.decode()
    assert rows_of(body) == expected
    if expected == 0:
        assert "No entries match these filters." in body


def test_usr9_days_are_the_viewers_days(client_admin_a, org_a, admin_a, member_a):
    """23:30 in New York on 1 May is 2 May in UTC: the filter goes by the viewer's day."""
    set_preferences(admin_a, time_zone="America/New_York")
    write(
        org_a,
        actor=admin_a,
        action="user.added",
        target=member_a,
        at=datetime.datetime(2025, 5, 2, 3, 30, tzinfo=UTC),
    )
    body = client_admin_a.get(log_url(org_a, "?date_to=2025-05-01")).content.decode()
    assert rows_of(body) == 1
    assert "05/01/2025 11:30 PM" in body


def test_usr9_actor_choices_are_only_this_orgs_members(client_admin_a, org_a, admin_b):
    body = client_admin_a.get(log_url(org_a)).content.decode()
    assert "Bob Boss" not in body
    response = client_admin_a.get(log_url(org_a, f"?actor={admin_b.pk}"))
    assert "Select a valid choice" in response.content.decode()


def test_usr9_reversed_dates_are_refused(client_admin_a, org_a, varied_log):
    body = client_admin_a.get(
        log_url(org_a, "?date_from=2025-05-03&date_to=2025-05-01")
    ).content.decode()
    assert "The end date is before the start date." in body


def test_usr9_pagination_keeps_the_filters(client_admin_a, org_a, admin_a, member_a):
    with scopes_disabled():
        for _ in range(55):
            audit_log_write(org=org_a, actor=admin_a, action="user.reinvited", target=member_a)
        audit_log_write(org=org_a, actor=admin_a, action="role.changed")

    first = client_admin_a.get(log_url(org_a, "?action=user.reinvited")).content.decode()
    assert rows_of(first) == 50
    assert "Page 1 of 2" in first
    assert 'href="?action=user.reinvited&amp;page=2"' in first
    second = client_admin_a.get(log_url(org_a, "?action=user.reinvited&page=2")).content.decode()
    assert rows_of(second) == 5
    assert 'href="?action=user.reinvited&amp;page=1"' in second


@pytest.mark.parametrize("count", [5, 60])
def test_usr9_query_count_does_not_grow_with_rows(
    client_admin_a, org_a, admin_a, member_a, count, django_assert_max_num_queries
):
    with scopes_disabled():
        for i in range(count):
            audit_log_write(
                org=org_a,
                actor=admin_a if i % 2 else member_a,
                action="user.details_changed",
                target=member_a,
                details={"fields": ["city"]},
            )
    with django_assert_max_num_queries(8):
        body = client_admin_a.get(log_url(org_a)).content.decode()
    assert rows_of(body) == min(count, 50)


def read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff"), "a BOM, so Excel opens the UTF-8 correctly"
    return list(csv.reader(io.StringIO(text[1:])))


def test_usr9_export_neutralises_formula_cells(client_admin_a, org_a, admin_a):
    with scopes_disabled():
        AuditLogEntry.objects.create(
            org=org_a,
            actor=admin_a,
            actor_label="@SUM(A1)",
            action="user.added",
            target_label='=HYPERLINK("http://evil")',
            details={"note": "fine"},
            ip_address="2001:db8::1",
        )
        for label in ("+1", "-2", "\tTab", "\rReturn", "plain"):
            AuditLogEntry.objects.create(
                org=org_a, actor=admin_a, actor_label=label, action="role.changed"
            )

    response = client_admin_a.get(export_url(org_a))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-alpha-')
    header, *rows = read_csv(response)
    assert header == ["When", "Who", "Action", "Whom", "IP address", "Details", "Details (data)"]
    by_actor = {row[1]: row for row in rows}
    assert by_actor["'@SUM(A1)"][3] == '\'=HYPERLINK("http://evil")'
    assert by_actor["'@SUM(A1)"][2] == "User added"
    assert by_actor["'@SUM(A1)"][4] == "2001:db8::1"
    assert {"'+1", "'-2", "'\tTab", "'\rReturn", "plain"} <= set(by_actor)
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)


def test_usr9_export_has_the_filtered_rows_in_iso_8601_in_the_viewers_zone(
    client_admin_a, org_a, admin_a, varied_log
):
    """Issue 11 Deliver 6: CSV dates in ISO 8601 with the viewer's offset, whatever their
    date format."""
    set_preferences(
        admin_a, locale="en_GB", date_format="d/m/Y", time_format="24", time_zone="Asia/Tokyo"
    )
    _header, *rows = read_csv(client_admin_a.get(export_url(org_a, "?action=user.added")))
    assert [(r[0], r[2]) for r in rows] == [("2025-05-01T21:00:00+09:00", "User added")]
    page = client_admin_a.get(log_url(org_a, "?action=user.added")).content.decode()
    assert 'href="/o/alpha/settings/audit-log/export.csv?action=user.added"' in page


# --- details as sentences (issue 11 Deliver 6, X-1, X-8) -----------------------------------


def test_x8_every_audit_action_has_a_sentence():
    """Every action code the log knows says its details as a sentence, not a dump."""
    from users.audit import ACTION_LABELS, SENTENCES

    missing = sorted(set(ACTION_LABELS) - set(SENTENCES))
    assert missing == [], f"no sentence for {missing}"


@pytest.mark.parametrize(
    ("action", "details", "sentence"),
    [
        (
            "user.access_changed",
            {
                "before": {"role": "Manager", "profile": "Standard"},
                "after": {"role": "Sales", "profile": "Standard"},
            },
            "Role changed from Manager to Sales.",
        ),
        (
            "role.changed",
            {
                "before": {"name": "Sales", "parent": "CEO", "share_with_peers": False},
                "after": {"name": "Sales", "parent": "CEO", "share_with_peers": True},
            },
            "Shares data with peers changed from no to yes.",
        ),
        ("org.renamed", {"old": "Alpha", "new": "Alpha Co"}, "renamed from “Alpha” to “Alpha Co”"),
        ("org.language_changed", {"old": "en", "new": "ja"}, "from English to Japanese"),
        ("org.idle_timeout_changed", {"old": None, "new": 30}, "after 30 minutes (before: never)"),
        (
            "org.super_admin_transferred",
            {"from": "Alice Admin", "to": "Mark Member"},
            "passed from Alice Admin to Mark Member",
        ),
        ("user.deleted", {"email": "gone@example.com"}, "gone@example.com was deleted."),
        ("user.details_changed", {"fields": ["city"], "flag": True}, "Changed: City."),
        ("user.deleted", {"unexpected_key": True}, "Unexpected key: yes"),
        ("portal.renamed", {"old_name": "A"}, "Old name: A"),
    ],
)
def test_x8_details_read_as_sentences(client_admin_a, org_a, admin_a, action, details, sentence):
    """Details are data, read as a sentence; an unknown shape still reads "Field: value",
    never "key: True"."""
    write(org_a, actor=admin_a, action=action, details=details)
    body = client_admin_a.get(log_url(org_a)).content.decode()
    assert sentence in body
    assert ": True" not in body


def test_x8_export_has_the_sentence_and_the_data(client_admin_a, org_a, admin_a, member_a):
    """The CSV carries the sentence for people and the JSON for programs."""
    details = {"before": {"role": "Manager"}, "after": {"role": "Sales"}}
    write(org_a, actor=admin_a, action="user.access_changed", target=member_a, details=details)
    _header, row = read_csv(client_admin_a.get(export_url(org_a)))
    assert row[5] == "Role changed from Manager to Sales."
    import json

    assert json.loads(row[6]) == details


def test_usr9_filter_bar_is_one_labelled_bar(client_admin_a, org_a):
    """Issue 11 Deliver 6: one compact bar — every control has its visible label."""
    body = client_admin_a.get(log_url(org_a)).content.decode()
    bar = body.split('id="audit-filters"', 1)[1].split("</form>", 1)[0]
    for name, label in [
        ("actor", "Who"),
        ("action", "Action"),
        ("date_from", "From"),
        ("date_to", "To"),
    ]:
        assert f'<label for="id_{name}">{label}</label>' in bar


def test_x1_audit_sentences_in_the_viewers_language(client_admin_a, org_a, admin_a, member_a):
    """The same stored details read in Japanese for a Japanese viewer, in the page and the
    CSV."""
    from users.models import User

    details = {"before": {"role": "Manager"}, "after": {"role": "Sales"}}
    write(org_a, actor=admin_a, action="user.access_changed", target=member_a, details=details)
    write(org_a, actor=admin_a, action="org.language_changed", details={"old": "en", "new": "ja"})
    User.objects.filter(pk=admin_a.user_id).update(language="ja")
    body = client_admin_a.get(log_url(org_a)).content.decode()
    assert "役職を Manager から Sales に変更しました。" in body
    assert "既定の言語を 英語 から 日本語 に変更しました。" in body
    assert "changed from" not in body
    _header, *rows = read_csv(client_admin_a.get(export_url(org_a)))
    assert "役職を Manager から Sales に変更しました。" in [row[5] for row in rows]
