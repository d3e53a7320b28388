"""User import speed targets (IMP-1, IMP-6): prints figures, asserts nothing.

1. A 1,000-row xlsx with every importable column: our worker's `user_import_run` must finish
   in under 3 s and the process must peak under 200 MB. The same bytes are also imported into
   the same model (CrmUser) by django-import-export in the same run, and both are printed
   side by side with the ratio theirs / ours.
2. A 500 KB xlsx whose sheet would unpack to 500 MB must be refused by `read_table` in under
   1 s with a peak under 100 MB.

How: the script creates its own throwaway PostgreSQL database `crm_portal_bench_<pid>` on the
server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates it and
drops it at the end; without a reachable server it falls back to an SQLite file in a temporary
directory and says so. Each contender runs in a fresh child process (this script re-invoked
with --child), so the peak RSS (getrusage ru_maxrss) of one does not pollute the other:
a timed run, then a second run with tracemalloc and a query counter on (slower, not timed).
The children switch Django's query log off (settings.DEBUG is only on so the settings load
without a real secret); a production worker runs with DEBUG off.

The parent process stays small on purpose (no Django, no openpyxl): Linux carries a process's
peak RSS over fork/exec into ru_maxrss, so a child started by a big parent would report the
parent's peak. Set-up (migrate, orgs, files) therefore runs in a child of its own too.

Run:  make bench      or      .venv/bin/python benchmarks/user_import.py
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS = 1000
LICENCES = 2000
IMPORT_SECONDS, IMPORT_MB = 3.0, 200
BOMB_SECONDS, BOMB_MB = 1.0, 100
BOMB_UNPACKED_BYTES = 500 * 1024 * 1024
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"


# --- environment and database ----------------------------------------------------------------


def set_env_defaults() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm_portal.settings"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["REDIS_URL"] = ""
    os.environ["CELERY_BROKER_URL"] = "memory://"


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


@contextmanager
def throwaway_database(workdir: Path):
    """Yields (DATABASE_URL, description) of an empty database that is gone afterwards."""
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    name = f"crm_portal_bench_{os.getpid()}"
    admin_url = _with_database(server_url, "postgres")
    try:
        if not server_url.startswith(("postgres://", "postgresql://")):
            raise ValueError(f"DATABASE_URL is not PostgreSQL ({urlsplit(server_url).scheme})")
        import psycopg

        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        unavailable = None
    except Exception as error:  # no server, no psycopg, no rights: SQLite will do
        unavailable = error
    if unavailable is not None:
        path = workdir / "bench.sqlite3"
        yield f"sqlite:///{path}", f"SQLite {path} (PostgreSQL unavailable: {unavailable})"
        return
    try:
        host = urlsplit(server_url).hostname or "localhost"
        yield _with_database(server_url, name), f"PostgreSQL {name} on {host} (dropped at the end)"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup() -> None:
    import django

    django.setup()


def quiet_query_log() -> None:
    """As in a production worker: no per-query logging in connection.queries."""
    from django.conf import settings

    settings.DEBUG = False


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- fixtures --------------------------------------------------------------------------------


def create_org(label: str):
    from django_scopes import scopes_disabled

    from users.models import Organization, User
    from users.services import organization_create

    owner = User.objects.create_user(email=f"owner-{label}@bench.example.com")
    org = organization_create(name=f"Bench {label}", owner=owner, last_name="Owner")
    with scopes_disabled():
        Organization.objects.filter(pk=org.pk).update(
            plan=Organization.Plan.PAID, purchased_licences=LICENCES
        )
    return org.pk


def column_headers() -> dict[str, str]:
    """{field: header}: the English labels of users.importing.FIELDS, minus the user ID."""
    from django.utils import translation

    from users.importing import FIELDS

    with translation.override("en"):
        return {key: str(label) for key, label in FIELDS if key != "user_id"}


FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "Smith", "García"]
GIVEN = ["太郎", "花子", "翔太", "陽菜", "蓮", "結衣", "美咲", "大翔", "Alice", "José"]
PLACES = [
    ("千代田区", "東京都", "100-0005", "丸の内1-1-{n}"),
    ("大阪市北区", "大阪府", "530-0001", "梅田3-1-{n}"),
    ("札幌市中央区", "北海道", "060-0001", "北一条西2-{n}"),
    ("Minato City", "Tokyo", "105-0011", "{n} Shibakoen 4-chome"),
]


def sample_row(n: int) -> dict[str, str]:
    city, state, postal_code, street = PLACES[n % len(PLACES)]
    return {
        "first_name": GIVEN[n % len(GIVEN)],
        "last_name": FAMILY[(n // len(GIVEN)) % len(FAMILY)],
        "email": f"user{n:04d}@bench.example.jp",
        "role": "Manager",
        "profile": "Standard",
        "phone": f"+81 3-1234-{n:04d}",
        "mobile": f"090-5555-{n:04d}",
        "website": f"https://www.example.jp/staff/{n:04d}",
        "fax": f"03-9876-{n:04d}",
        "street": street.format(n=n % 50 + 1),
        "city": city,
        "state": state,
        "postal_code": postal_code,
        "country": "日本" if n % 2 else "Japan",
    }


def build_xlsx(rows: int) -> bytes:
    import io

    import openpyxl

    headers = column_headers()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Users")
    sheet.append(list(headers.values()))
    for n in range(1, rows + 1):
        values = sample_row(n)
        sheet.append([values[key] for key in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def build_bomb(path: Path, unpacked: int = BOMB_UNPACKED_BYTES) -> None:
    """An xlsx-looking zip whose sheet is `unpacked` bytes of blanks (valid XML whitespace),
    streamed in 1 MiB chunks so the script itself stays small."""
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"/>',
        )
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        with zf.open("xl/worksheets/sheet1.xml", "w") as member:
            member.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            for _ in range(unpacked // len(chunk)):
                member.write(chunk)
            member.write(b"</sheetData></worksheet>")


# --- what the children measure ----------------------------------------------------------------


class QueryCounter:
    """connection.execute_wrapper counting statements by their first word (no SQL kept)."""

    def __init__(self):
        self.counts = Counter()

    def __call__(self, execute, sql, params, many, context):
        words = sql.lstrip().split(None, 2)
        kind = " ".join(words[:2]) if words[:1] == ["RELEASE"] else (words[:1] or ["?"])[0]
        self.counts[kind.upper()] += 1
        return execute(sql, params, many, context)


@contextmanager
def diagnostics(enabled: bool, figures: dict, key: str, counter: QueryCounter | None):
    """With `enabled`: tracemalloc peak (MB) of the block into figures[key], and, with a
    counter, the block's statements into figures[key + '_queries']."""
    if not enabled:
        yield
        return
    from django.db import connection

    tracemalloc.reset_peak()
    before = Counter(counter.counts)
    with connection.execute_wrapper(counter):
        yield
    figures[f"{key}_tracemalloc_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    figures[f"{key}_queries"] = dict(counter.counts - before)


def run_ours(org_id: int, path: Path, diag: bool) -> dict:
    from django_scopes import scope, scopes_disabled

    from users.import_services import (
        user_import_counts,
        user_import_run,
        user_import_set_mapping,
        user_import_upload,
    )
    from users.models import CrmUser, Organization

    with scopes_disabled():
        org = Organization.objects.get(pk=org_id)
        actor = CrmUser.objects.get(org=org, is_super_admin=True)
    data = path.read_bytes()
    figures = {"baseline_rss_mb": peak_rss_mb()}
    counter = QueryCounter() if diag else None
    with scope(org=org):
        start = time.perf_counter()
        with diagnostics(diag, figures, "upload", counter):
            imp = user_import_upload(org=org, actor=actor, filename="users.xlsx", data=data)
            user_import_set_mapping(imp=imp, actor=actor, mapping=imp.mapping)  # auto mapping
        uploaded = time.perf_counter()
        with diagnostics(diag, figures, "run", counter):
            user_import_run(import_id=imp.pk)
        finished = time.perf_counter()
        imp.refresh_from_db()
        figures.update(
            mapped=sorted(imp.mapping.values()),
            outcomes=user_import_counts(imp=imp),
            status=imp.status,
        )
    figures.update(
        upload_s=uploaded - start,
        run_s=finished - uploaded,
        total_s=finished - start,
        peak_rss_mb=peak_rss_mb(),
    )
    return figures


def crm_user_resource(org):
    """A ModelResource for CrmUser, as one would write it for this import: columns by the
    same headers, role and profile looked up by name within the org, new users unconfirmed
    in `org`, existing ones matched by email (like our default mode's check)."""
    from import_export import fields, resources, widgets

    from users.models import CrmUser, Profile, Role

    class OrgForeignKeyWidget(widgets.ForeignKeyWidget):
        def get_queryset(self, value, row, *args, **kwargs):
            return self.model.objects.filter(org=org)

    headers = column_headers()

    def column(key: str, widget=None) -> fields.Field:
        return fields.Field(attribute=key, column_name=headers[key], widget=widget)

    class CrmUserResource(resources.ModelResource):
        email = column("email")
        first_name = column("first_name")
        last_name = column("last_name")
        role = column("role", OrgForeignKeyWidget(Role, field="name"))
        profile = column("profile", OrgForeignKeyWidget(Profile, field="name"))
        phone = column("phone")
        mobile = column("mobile")
        website = column("website")
        fax = column("fax")
        street = column("street")
        city = column("city")
        state = column("state")
        postal_code = column("postal_code")
        country = column("country")

        class Meta:
            model = CrmUser
            fields = ["org", *headers, "status"]  # org and status: set by init_instance
            import_id_fields = ["email"]

        def get_queryset(self):
            return CrmUser.objects.filter(org=org)

        def init_instance(self, row=None):
            return CrmUser(org=org, status=CrmUser.Status.UNCONFIRMED)

    return CrmUserResource()


def run_theirs(org_id: int, path: Path, diag: bool) -> dict:
    from django_scopes import scopes_disabled
    from import_export.formats.base_formats import XLSX

    from users.models import Organization

    data = path.read_bytes()
    figures = {"baseline_rss_mb": peak_rss_mb()}
    counter = QueryCounter() if diag else None
    with scopes_disabled():
        org = Organization.objects.get(pk=org_id)
        resource_ = crm_user_resource(org)
        start = time.perf_counter()
        with diagnostics(diag, figures, "upload", counter):
            dataset = XLSX().create_dataset(data)
        parsed = time.perf_counter()
        with diagnostics(diag, figures, "run", counter):
            result = resource_.import_data(dataset, dry_run=False, use_transactions=True)
        finished = time.perf_counter()
    figures.update(
        outcomes=dict(result.totals),
        errors=[str(e.error) for _n, errors in result.row_errors()[:3] for e in errors[:1]],
        invalid=len(result.invalid_rows),
        upload_s=parsed - start,
        run_s=finished - parsed,
        total_s=finished - start,
        peak_rss_mb=peak_rss_mb(),
    )
    return figures


def run_bomb(path: Path, diag: bool) -> dict:
    from users.spreadsheets import SpreadsheetError, read_table

    data = path.read_bytes()
    figures = {"baseline_rss_mb": peak_rss_mb(), "compressed_bytes": len(data)}
    if diag:
        tracemalloc.reset_peak()
    start = time.perf_counter()
    try:
        read_table(data, "bomb.xlsx")
        figures["code"] = "accepted (!)"
    except SpreadsheetError as error:
        figures["code"] = error.code
    figures["seconds"] = time.perf_counter() - start
    if diag:
        figures["tracemalloc_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def child_main(args) -> None:
    if args.diag:
        tracemalloc.start()
    if args.child == "bomb":  # users.spreadsheets is plain Python: no Django needed
        figures = run_bomb(Path(args.file), args.diag)
    else:
        django_setup()
        quiet_query_log()
        runner = run_ours if args.child == "ours" else run_theirs
        figures = runner(args.org, Path(args.file), args.diag)
    print("RESULT " + json.dumps(figures, ensure_ascii=False), flush=True)


# --- the parent: set up, spawn, verify, print -------------------------------------------------


def spawn(kind: str, path: Path, org_id: int | None = None, diag: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--file", str(path)]
    if org_id is not None:
        command += ["--org", str(org_id)]
    if diag:
        command.append("--diag")
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {kind} failed (exit {done.returncode})")
    return json.loads(lines[-1].removeprefix("RESULT "))


def imported_count(org_id: int) -> int:
    from django_scopes import scopes_disabled

    from users.models import CrmUser

    with scopes_disabled():
        return CrmUser.objects.filter(org_id=org_id, is_super_admin=False).count()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def format_queries(queries: dict, rows: int) -> str:
    total = sum(queries.values())
    parts = ", ".join(f"{kind} {n}" for kind, n in sorted(queries.items(), key=lambda i: -i[1]))
    return f"{total} ({total / rows:.1f}/row: {parts})"


def print_import_report(ours: dict, theirs: dict, ours_diag: dict, theirs_diag: dict) -> None:
    print(f"\n1) {ROWS}-row xlsx, all {len(column_headers())} importable columns")
    header = (
        f"  {'contender':<22}{'created':>8}{'parse s':>9}{'import s':>10}{'total s':>9}"
        f"{'peak RSS MB':>13}{'(base)':>8}{'tracemalloc MB':>16}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, timed, diag in (
        ("ours (user_import_run)", ours, ours_diag),
        ("django-import-export", theirs, theirs_diag),
    ):
        traced = diag["upload_tracemalloc_mb"], diag["run_tracemalloc_mb"]
        print(
            f"  {name:<22}{timed['created']:>8}{timed['upload_s']:>9.2f}{timed['run_s']:>10.2f}"
            f"{timed['total_s']:>9.2f}{timed['peak_rss_mb']:>13.1f}"
            f"{timed['baseline_rss_mb']:>8.1f}{max(traced):>16.1f}"
        )
    print(
        f"  ratio theirs/ours: total {theirs['total_s'] / ours['total_s']:.2f}x, "
        f"import {theirs['run_s'] / ours['run_s']:.2f}x, "
        f"peak RSS {theirs['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x"
    )
    print("  (parse = ours: user_import_upload + set_mapping, rows stored; theirs: create_dataset)")
    print(
        f"  ours, worker: {ours['run_s']:.2f} s < {IMPORT_SECONDS:.0f} s "
        f"{verdict(ours['run_s'] < IMPORT_SECONDS)}; "
        f"peak RSS {ours['peak_rss_mb']:.1f} MB < {IMPORT_MB} MB "
        f"{verdict(ours['peak_rss_mb'] < IMPORT_MB)}; "
        f"upload + run {ours['total_s']:.2f} s {verdict(ours['total_s'] < IMPORT_SECONDS)}"
    )
    print(f"  queries, ours upload: {format_queries(ours_diag['upload_queries'], ROWS)}")
    print(f"  queries, ours run:    {format_queries(ours_diag['run_queries'], ROWS)}")
    print(f"  queries, theirs:      {format_queries(theirs_diag['run_queries'], ROWS)}")


def print_bomb_report(bomb: dict, bomb_diag: dict) -> None:
    print(
        f"\n2) zip bomb: {bomb['compressed_bytes'] / 1024:.0f} KB compressed, sheet unpacks to "
        f"{BOMB_UNPACKED_BYTES / 2**20:.0f} MB"
    )
    print(
        f"  read_table refused it with code {bomb['code']!r} in {bomb['seconds'] * 1000:.1f} ms, "
        f"peak RSS {bomb['peak_rss_mb']:.1f} MB (base {bomb['baseline_rss_mb']:.1f}), "
        f"tracemalloc peak {bomb_diag['tracemalloc_mb']:.2f} MB"
    )
    print(
        f"  refused as 'bomb' {verdict(bomb['code'] == 'bomb')}; "
        f"< {BOMB_SECONDS:.0f} s {verdict(bomb['seconds'] < BOMB_SECONDS)}; "
        f"< {BOMB_MB} MB {verdict(bomb['peak_rss_mb'] < BOMB_MB)}"
    )


def check_import(name: str, figures: dict) -> None:
    """Both contenders must really have created ROWS users, or their figures mean nothing."""
    if figures["created"] != ROWS:
        detail = {k: v for k, v in figures.items() if k in ("outcomes", "errors", "status")}
        raise SystemExit(f"{name} created {figures['created']} users, not {ROWS}: {detail}")


def main() -> None:
    set_env_defaults()
    workdir = Path(tempfile.mkdtemp(prefix="crm_portal_bench_"))
    os.environ.setdefault("VAR_DIR", str(workdir / "var"))  # keep ./var untouched
    try:
        with throwaway_database(workdir) as (database_url, description):
            os.environ["DATABASE_URL"] = database_url  # the children inherit it
            print(f"database: {description}")
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
            started = time.perf_counter()
            setup = spawn("setup", workdir)
            print(
                f"setup (migrate, orgs, files) {time.perf_counter() - started:.1f} s; "
                f"xlsx {setup['xlsx_bytes'] / 1024:.0f} KB"
            )
            orgs = setup["orgs"]
            ours = spawn("ours", workdir, orgs["ours"])
            theirs = spawn("theirs", workdir, orgs["theirs"])
            ours_diag = spawn("ours", workdir, orgs["ours-d"], diag=True)
            theirs_diag = spawn("theirs", workdir, orgs["theirs-d"], diag=True)
            check_import("ours", ours)
            check_import("django-import-export", theirs)
            check_import("ours (diagnostic run)", ours_diag)
            check_import("django-import-export (diagnostic run)", theirs_diag)
            bomb_timed = spawn("bomb", workdir)
            bomb_diag = spawn("bomb", workdir, diag=True)

            print_import_report(setup["columns"], ours, theirs, ours_diag, theirs_diag)
            print_bomb_report(bomb_timed, bomb_diag)
            print(f"\n(launcher process peak RSS {peak_rss_mb():.1f} MB: no child can report less)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["ours", "theirs", "bomb"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--org", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--diag", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child:
        child_main(arguments)
    else:
        main()
