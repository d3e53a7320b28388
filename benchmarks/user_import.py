"""User import speed targets (IMP-1, IMP-6): prints figures, asserts nothing.

1. A 1,000-row xlsx with every importable column: our worker's `import_run` (users) must finish
   in under 3 s and the process must peak under 200 MB. The same bytes are also imported into
   the same model (CrmUser) by django-import-export in the same run, and both are printed
   side by side with the ratio theirs / ours.
2. A 500 KB xlsx whose sheet would unpack to 500 MB must be refused by `read_table` in under
   1 s with a peak under 100 MB (and by `read_table_isolated`, which the upload calls, when
   that exists).

How: the script creates its own throwaway PostgreSQL database `crm_portal_bench_<pid>` on the
server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates it and
drops it at the end; without a reachable server it falls back to an SQLite file in a temporary
directory and says so. Each contender runs in a fresh child process (this script re-invoked
with --child), so the peak RSS (getrusage ru_maxrss) of one does not pollute the other:
BENCH_ROUNDS (default 3) timed runs each, interleaved, of which the median is reported (the
machine may be busy with other work), then one run with tracemalloc and a statement counter
on (slower, not timed).
The children switch Django's query log off (DEBUG is on only so that the settings load without
a real secret); a production worker runs with DEBUG off.

The parent stays small on purpose (no Django, no openpyxl): Linux carries a process's peak RSS
over fork/exec into the child's ru_maxrss, so a child of a big parent would report the parent's
peak. Set-up (migrate, orgs, files) therefore runs in a child of its own as well.

Run:  make bench      or      .venv/bin/python benchmarks/user_import.py
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from _bench_db import bench_env_defaults, database_admin, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS = 1000
LICENCES = 2000
IMPORT_SECONDS, IMPORT_MB = 3.0, 200
BOMB_SECONDS, BOMB_MB = 1.0, 100
BOMB_UNPACKED_BYTES = 500 * 1024 * 1024
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or 3)  # timed runs per contender, interleaved
CONTENDERS = ["ours", "theirs"]
ORG_LABELS = [  # one org per import: no email clashes, every import starts from the same state
    *(f"{who}-{n}" for n in range(1, ROUNDS + 1) for who in CONTENDERS),
    *(f"{who}-diag" for who in CONTENDERS),
]
XLSX_NAME, BOMB_NAME = "users.xlsx", "bomb.xlsx"
BOMB_READERS = ["read_table", "read_table_isolated"]


# --- environment ---------------------------------------------------------------------------


def django_setup() -> None:
    import django

    django.setup()


def quiet_query_log() -> None:
    """As in a production worker: no per-query logging in connection.queries."""
    from django.conf import settings

    settings.DEBUG = False


def peak_rss_mb(*, with_children: bool = True) -> float:
    """ru_maxrss in MB (Linux reports KiB); with_children also counts any process this one
    forked and waited for, e.g. a reader isolated in a child."""
    who = [resource.RUSAGE_SELF] + ([resource.RUSAGE_CHILDREN] if with_children else [])
    return max(resource.getrusage(w).ru_maxrss for w in who) / 1024


# --- set-up child: database, orgs, files -----------------------------------------------------


def create_org(label: str) -> int:
    """A paid org with LICENCES licences, its defaults (Manager, Standard, …) and a super admin."""
    from users.models import Organization, User
    from users.services.organizations import organization_create

    owner = User.objects.create_user(email=f"owner-{label}@bench.example.com")
    org = organization_create(name=f"Bench {label}", owner=owner, last_name="Owner")
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
    streamed in 1 MiB chunks so that building it stays small in memory too."""
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


def run_setup(workdir: Path) -> dict:
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    call_command("migrate", verbosity=0, interactive=False)
    with scopes_disabled():
        orgs = {label: create_org(label) for label in ORG_LABELS}
    xlsx = build_xlsx(ROWS)
    (workdir / XLSX_NAME).write_bytes(xlsx)
    build_bomb(workdir / BOMB_NAME)
    return {"orgs": orgs, "xlsx_bytes": len(xlsx), "columns": len(column_headers())}


# --- measured children -----------------------------------------------------------------------


class StatementCounter:
    """A connection.execute_wrapper counting statements by kind (no SQL is kept)."""

    def __init__(self):
        self.counts = Counter()

    def __call__(self, execute, sql, params, many, context):
        words = sql.split(None, 2)
        kind = " ".join(words[:2]) if words[:1] == ["RELEASE"] else (words or ["?"])[0]
        self.counts[kind.upper()] += 1
        return execute(sql, params, many, context)


@contextmanager
def diagnostics(enabled: bool, figures: dict, key: str):
    """With `enabled`: the block's tracemalloc peak (MB above what was allocated before it)
    into figures[key + '_tracemalloc_mb']
    and its statements by kind into figures[key + '_queries']. Without: nothing at all."""
    if not enabled:
        yield
        return
    from django.db import connection

    counter = StatementCounter()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    with connection.execute_wrapper(counter):
        yield
    figures[f"{key}_tracemalloc_mb"] = (tracemalloc.get_traced_memory()[1] - before) / 2**20
    figures[f"{key}_queries"] = dict(counter.counts)


def imported_count(org) -> int:
    from users.models import CrmUser

    return CrmUser.objects.filter(org=org, is_super_admin=False).count()


def run_ours(org_id: int, data: bytes, diag: bool) -> dict:
    """The wizard's upload and auto mapping, then the worker's function, in the org's scope
    as the Celery task (a thin wrapper around import_run) sets it."""
    from django_scopes import scope, scopes_disabled

    from imports.selectors import import_counts
    from imports.services import import_run, import_set_mapping, import_upload
    from users.importing import USER_IMPORT
    from users.models import CrmUser, Organization

    with scopes_disabled():
        org = Organization.objects.get(pk=org_id)
        actor = CrmUser.objects.get(org=org, is_super_admin=True)
    figures = {"baseline_rss_mb": peak_rss_mb()}
    with scope(org=org):
        start = time.perf_counter()
        with diagnostics(diag, figures, "upload"):
            imp = import_upload(
                kind=USER_IMPORT, org=org, actor=actor, filename=XLSX_NAME, data=data
            )
            import_set_mapping(kind=USER_IMPORT, imp=imp, actor=actor, mapping=imp.mapping)
        uploaded = time.perf_counter()
        with diagnostics(diag, figures, "run"):
            import_run(kind=USER_IMPORT, import_id=imp.pk)
        finished = time.perf_counter()
        figures["peak_rss_mb"] = peak_rss_mb()
        imp.refresh_from_db()
        figures.update(
            mapped=len(imp.mapping),
            outcomes=import_counts(imp=imp),
            status=imp.status,
            created=imported_count(org),
        )
    figures.update(upload_s=uploaded - start, run_s=finished - uploaded, total_s=finished - start)
    return figures


def crm_user_resource(org):
    """A ModelResource for CrmUser as one would write it for this import: columns by the same
    headers, role and profile looked up by name within the org, new users unconfirmed in
    `org`, an existing user of the org matched by email (our default mode checks that too).
    Everything else is import-export's default (diffs, one savepoint per row)."""
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


def run_theirs(org_id: int, data: bytes, diag: bool) -> dict:
    """import-export's own xlsx reader, then import_data, with scopes off (it knows none)."""
    from django_scopes import scopes_disabled
    from import_export.formats.base_formats import XLSX

    from users.models import Organization

    figures = {"baseline_rss_mb": peak_rss_mb()}
    with scopes_disabled():
        org = Organization.objects.get(pk=org_id)
        resource_ = crm_user_resource(org)
        start = time.perf_counter()
        with diagnostics(diag, figures, "upload"):
            dataset = XLSX().create_dataset(data)
        parsed = time.perf_counter()
        with diagnostics(diag, figures, "run"):
            result = resource_.import_data(dataset, dry_run=False, use_transactions=True)
        finished = time.perf_counter()
        figures["peak_rss_mb"] = peak_rss_mb()
        figures.update(
            outcomes=dict(result.totals),
            errors=[str(e.error) for _n, errors in result.row_errors()[:3] for e in errors[:1]],
            created=imported_count(org),
        )
    figures.update(upload_s=parsed - start, run_s=finished - parsed, total_s=finished - start)
    return figures


def run_bomb(data: bytes, diag: bool, reader: str) -> dict:
    """`reader`: read_table (where the refusal is decided) or read_table_isolated (what the
    upload calls, when it exists: read_table in a forked child with hard limits)."""
    from imports import spreadsheets

    if not hasattr(spreadsheets, reader):
        return {"missing": reader}
    read, SpreadsheetError = getattr(spreadsheets, reader), spreadsheets.SpreadsheetError
    figures = {"baseline_rss_mb": peak_rss_mb(), "compressed_bytes": len(data), "reader": reader}
    if diag:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    try:
        read(data, BOMB_NAME)
        figures["code"] = "none: accepted"
    except SpreadsheetError as error:
        figures["code"] = error.code
    figures["seconds"] = time.perf_counter() - start
    figures["peak_rss_mb"] = peak_rss_mb()
    if diag:
        figures["tracemalloc_mb"] = (tracemalloc.get_traced_memory()[1] - before) / 2**20
    return figures


def child_main(args) -> None:
    workdir = Path(args.dir)
    if args.child in ("createdb", "dropdb"):
        print("RESULT " + json.dumps(database_admin(args.child[:-2], args.url, args.name)))
        return
    if args.diag:
        tracemalloc.start()
    if args.child == "bomb":  # imports.spreadsheets is plain Python: no Django to load
        figures = run_bomb((workdir / BOMB_NAME).read_bytes(), args.diag, args.reader)
    else:
        django_setup()
        quiet_query_log()
        if args.child == "setup":
            figures = run_setup(workdir)
        else:
            runner = run_ours if args.child == "ours" else run_theirs
            figures = runner(args.org, (workdir / XLSX_NAME).read_bytes(), args.diag)
    print("RESULT " + json.dumps(figures), flush=True)


# --- the parent: database, children, checks, report -------------------------------------------


def spawn(kind: str, workdir: Path, org_id: int | None = None, diag: bool = False, **more):
    """Run this script as child `kind`; returns what it printed after RESULT, as a dict."""
    command = [sys.executable, __file__, "--child", kind, "--dir", str(workdir)]
    if org_id is not None:
        command += ["--org", str(org_id)]
    if diag:
        command.append("--diag")
    for option, value in more.items():
        command += [f"--{option}", value]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {kind} failed (exit {done.returncode})")
    return json.loads(lines[-1].removeprefix("RESULT "))


def check_import(name: str, figures: dict) -> None:
    """Both contenders must really have created ROWS users, or their figures mean nothing."""
    if figures["created"] != ROWS:
        detail = {k: v for k, v in figures.items() if k in ("outcomes", "errors", "status")}
        raise SystemExit(f"{name} created {figures['created']} users, not {ROWS}: {detail}")


def summarise(runs: list[dict]) -> dict:
    """Median and best of the timings, the worst peak RSS, over the rounds."""
    summary = {"created": runs[0]["created"], "rounds": len(runs)}
    for key in ("upload_s", "run_s", "total_s"):
        summary[key] = statistics.median(run[key] for run in runs)
        summary[f"best_{key}"] = min(run[key] for run in runs)
    summary["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
    summary["baseline_rss_mb"] = max(run["baseline_rss_mb"] for run in runs)
    return summary


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def format_queries(queries: dict) -> str:
    total = sum(queries.values())
    parts = ", ".join(f"{kind} {n}" for kind, n in sorted(queries.items(), key=lambda i: -i[1]))
    return f"{total} = {total / ROWS:.1f}/row ({parts})"


def print_import_report(columns: int, ours: dict, theirs: dict, ours_d: dict, theirs_d: dict):
    print(
        f"\n1) {ROWS}-row xlsx, all {columns} importable columns; "
        f"median of {ours['rounds']} interleaved runs each (best in brackets)"
    )
    header = (
        f"  {'contender':<22}{'created':>8}{'parse s':>9}{'import s':>15}{'total s':>15}"
        f"{'peak RSS MB':>13}{'(start)':>9}{'tracemalloc MB':>16}"
    )
    print(header)
    print(f"{'parse / import':>{len(header)}}")
    print("  " + "-" * (len(header) - 2))
    for name, timed, diag in (
        ("ours (import_run)", ours, ours_d),
        ("django-import-export", theirs, theirs_d),
    ):
        traced = f"{diag['upload_tracemalloc_mb']:.1f} / {diag['run_tracemalloc_mb']:.1f}"
        print(
            f"  {name:<22}{timed['created']:>8}{timed['upload_s']:>9.2f}"
            f"{timed['run_s']:>8.2f} ({timed['best_run_s']:.2f})"
            f"{timed['total_s']:>8.2f} ({timed['best_total_s']:.2f})"
            f"{timed['peak_rss_mb']:>13.1f}"
            f"{timed['baseline_rss_mb']:>9.1f}{traced:>16}"
        )
    print(
        f"  ratio theirs/ours: total {theirs['total_s'] / ours['total_s']:.2f}x, "
        f"import {theirs['run_s'] / ours['run_s']:.2f}x, "
        f"peak RSS {theirs['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x"
    )
    print(
        "  parse = ours: import_upload (reads the file, stores its rows) + set_mapping;"
        "\n          theirs: XLSX().create_dataset."
        "\n  import = ours: import_run (the worker); theirs: import_data."
        "\n  peak RSS = the child's ru_maxrss (or of a reader it forked), worst run;"
        "\n  (start) = after Django was loaded;"
        "\n  tracemalloc = peak Python allocations of each step above what it started with"
        "\n  (not those of a forked reader)."
    )
    print(
        f"  ours (median): worker {ours['run_s']:.2f} s < {IMPORT_SECONDS:.0f} s "
        f"{verdict(ours['run_s'] < IMPORT_SECONDS)}; "
        f"upload + worker {ours['total_s']:.2f} s {verdict(ours['total_s'] < IMPORT_SECONDS)}; "
        f"peak RSS {ours['peak_rss_mb']:.1f} MB < {IMPORT_MB} MB "
        f"{verdict(ours['peak_rss_mb'] < IMPORT_MB)}"
    )
    print("  statements (diagnostic run):")
    print(f"    ours upload  {format_queries(ours_d['upload_queries'])}")
    print(f"    ours worker  {format_queries(ours_d['run_queries'])}")
    print(f"    theirs       {format_queries(theirs_d['run_queries'])}")


def print_bomb_report(bombs: list[tuple[dict, dict]]) -> None:
    size = bombs[0][0]["compressed_bytes"]
    print(
        f"\n2) zip bomb: {size / 1024:.0f} KB compressed, its sheet unpacks to "
        f"{BOMB_UNPACKED_BYTES / 2**20:.0f} MB"
    )
    for bomb, bomb_d in bombs:
        if "missing" in bomb:
            continue
        print(
            f"  {bomb['reader']} refused it with code {bomb['code']!r} in "
            f"{bomb['seconds'] * 1000:.1f} ms; peak RSS {bomb['peak_rss_mb']:.1f} MB "
            f"(start {bomb['baseline_rss_mb']:.1f}); "
            f"tracemalloc peak {bomb_d['tracemalloc_mb']:.2f} MB above start"
        )
        print(
            f"    refused as a bomb {verdict(bomb['code'] == 'bomb')}; "
            f"< {BOMB_SECONDS:.0f} s {verdict(bomb['seconds'] < BOMB_SECONDS)}; "
            f"< {BOMB_MB} MB {verdict(bomb['peak_rss_mb'] < BOMB_MB)}"
        )


def main() -> None:
    bench_env_defaults()
    workdir = Path(tempfile.mkdtemp(prefix="crm_portal_bench_"))
    os.environ.setdefault("VAR_DIR", str(workdir / "var"))  # leave ./var alone
    try:
        with throwaway_database(__file__, sqlite_dir=workdir, dir=str(workdir)) as (
            database_url,
            description,
        ):
            os.environ["DATABASE_URL"] = database_url  # before any django.setup(): children
            print(f"database: {description}")
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
            started = time.perf_counter()
            setup = spawn("setup", workdir)
            print(
                f"set-up (migrate, {len(ORG_LABELS)} orgs, files) "
                f"{time.perf_counter() - started:.1f} s; xlsx {setup['xlsx_bytes'] / 1024:.0f} KB"
            )
            orgs = setup["orgs"]
            timed = {who: [] for who in CONTENDERS}
            for n in range(1, ROUNDS + 1):
                for who in CONTENDERS:
                    timed[who].append(spawn(who, workdir, orgs[f"{who}-{n}"]))
            diag = {who: spawn(who, workdir, orgs[f"{who}-diag"], diag=True) for who in CONTENDERS}
            for who in CONTENDERS:
                for figures in [*timed[who], diag[who]]:
                    check_import(who, figures)
            ours, theirs = (summarise(timed[who]) for who in CONTENDERS)
            bombs = [
                (spawn("bomb", workdir, reader=r), spawn("bomb", workdir, diag=True, reader=r))
                for r in BOMB_READERS
            ]

            print_import_report(setup["columns"], ours, theirs, diag["ours"], diag["theirs"])
            print_bomb_report(bombs)
            print(f"\n(this launcher's own peak RSS: {peak_rss_mb(with_children=False):.1f} MB)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    children = ["createdb", "dropdb", "setup", "ours", "theirs", "bomb"]
    parser.add_argument("--child", choices=children, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--org", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--diag", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--reader", default="read_table", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child:
        child_main(arguments)
    else:
        main()
