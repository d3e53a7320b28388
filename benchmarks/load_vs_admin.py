"""Load benchmark beside Django's admin (issue 16 point 2): the users list at 10,000 CRM users,
the contacts list at 100,000 contacts, a portal's failed-invitation log at 100,000 rows and
the portal site's record list, each against the admin changelist of the same model, under 20
concurrent locust users. Prints figures and
a PASS/FAIL verdict per page; exits 0 either way (a benchmark, not a test).

Goals (issue 16): p95 < 50 ms at 20 concurrent users, and no page slower than its admin
counterpart.

It is benchmarks/lists_vs_admin.py (issue 21) at another size and load, through the same
machinery (imported, not copied): the same benchmark-only settings and admin
(_admin_settings.py, _admin_site.py), the same database builder (kept and reused while it
holds the asked sizes), gunicorn with 2 sync workers, locust headless, pairs alternated (app,
admin, app, admin …) so that a slow spell of a shared machine hits both sides, CPU per request
from the workers' /proc stat. See lists_vs_admin.py for what each page and its counterpart
are; in short:
- contacts page 1: /o/<org>/contacts/ vs the admin's Contact changelist (25 a page, last name,
  first name, pk; owner and account in the same statement);
- users (active) page 1: /o/<org>/users/ vs the CrmUser changelist filtered to active;
- portal record list (account scope): /portal/<slug>/contacts/ as a portal user whose group
  shares contacts with the "account" scope (the contacts of their contact's account, ~1,000
  at full size) vs the Contact changelist of the benchmark's second admin site filtered by
  that account (?account__id__exact=), the same org scope, columns (first and last name,
  email, phone, country), order (last name, first name, pk) and page size (25), without the
  admin's extra count of the unfiltered table, which the portal page does not make either.
  The portal page also resolves the portal and the portal user and checks their status on
  every request; the admin checks its staff user and permissions instead;
- failed invitations page 1: /o/<org>/portals/<portal>/failed-invitations/ (AUT-7, 50 a page,
  newest first, keyset pages) vs the FailedInvitation changelist filtered to the portal
  (?portal__id__exact=), 50 a page, newest first (-failed_at, -pk).

Two loads a page and side, both 20 locust users (BENCH_LOCUST_USERS):
- saturated: no think time, a closed loop (BENCH_ROUNDS x BENCH_SECONDS, default 2 x 15 s):
  the page's capacity in requests/s and its p50/p95/p99 when 20 requests are always waiting.
  By Little's law the mean time of a request here is 20 / (req/s) whatever the page — 200 ms
  at 100 req/s on 2 workers — so this load compares the two sides and the 50 ms goal is not
  judged on it;
- alone (for reference, not judged): BENCH_SOLO (20) requests one after the other before the
  loads: what one request costs without queueing;
- paced: each user waits 0.5–1.5 s (BENCH_THINK="0.5,1.5") between its requests, as a person
  reading the page does (~20 requests/s offered), for BENCH_PACED_SECONDS (default 20) s:
  p50/p95/p99 of 20 people using the page at once. The 50 ms goal is judged on this p95.

Verdict per page: PASS when the paced p95 is < 50 ms, the saturated requests/s is at least
the admin's (ratio >= 1.0x) and the saturated p95 at most the admin's, and nothing failed.

Data (database crm_portal_bench_load, BENCH_DB_NAME): one org with BENCH_CONTACTS (100,000)
contacts, BENCH_USERS (10,000) CRM users, 2,000 accounts, a portal with 1,000 portal users and
the reader, BENCH_FAILED_INVITATIONS (as many as contacts: 100,000) failed invitations of that
portal. Built once (~2 min), reused while the sizes match.

Run:  make bench    or    .venv/bin/python benchmarks/load_vs_admin.py
Small run:  BENCH_CONTACTS=3000 BENCH_USERS=100 BENCH_SECONDS=5 BENCH_ROUNDS=1 …
Some pages only:  BENCH_ONLY="portal" (pages whose name contains any of the words)
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("BENCH_USERS", "10000")
os.environ.setdefault("BENCH_LOCUST_USERS", "20")
os.environ.setdefault("BENCH_DB_NAME", "crm_portal_bench_load")

import lists_vs_admin as lists  # noqa: E402  (reads the sizes above from the environment)

PAGES = [
    "contacts page 1",
    "users (active) page 1",
    "portal record list (account scope)",
    "failed invitations page 1",
]
THINK = os.environ.get("BENCH_THINK") or "0.5,1.5"
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS") or 20)
GOAL_P95_MS = 50.0
GOAL_RATIO = 1.0


def machine() -> str:
    """nproc, the CPU's model name and the RAM, as /proc tells them."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return f"{len(os.sched_getaffinity(0))} CPUs ({model}), {kib / 1024 / 1024:.1f} GiB RAM"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def verdict(saturated: dict, paced: dict) -> tuple[bool, list[str]]:
    app, admin = saturated["app"], saturated["admin"]
    ratio = app["locust_rps"] / admin["locust_rps"] if admin["locust_rps"] else float("inf")
    checks = [
        (paced["app"]["p95"] < GOAL_P95_MS, f"paced p95 {paced['app']['p95']:.0f} ms"),
        (ratio >= GOAL_RATIO, f"{ratio:.2f}x the admin's req/s"),
        (app["p95"] <= admin["p95"], f"saturated p95 {app['p95']:.0f} > {admin['p95']:.0f} ms"),
        (
            app["failures"] + paced["app"]["failures"] == 0,
            f"{app['failures'] + paced['app']['failures']} failed",
        ),
    ]
    return all(ok for ok, _ in checks), [text for ok, text in checks if not ok]


def report(setup: dict, results: list, loads: tuple[str, str]) -> bool:
    counts = setup["counts"]
    sizes = [
        f"{counts['contacts']:,} contacts",
        f"{counts['users']:,} CRM users",
        f"{counts['accounts']:,} accounts",
        f"{counts['portal_users']:,} portal users",
    ]
    if "failed_invitations" in counts:
        sizes.append(f"{counts['failed_invitations']:,} failed invitations")
    print(
        f"\nOne org: {', '.join(sizes)} ({'built' if setup['built'] else 'reused'}, "
        f"{setup['seconds']:.0f} s). gunicorn {lists.WORKERS} workers; locust "
        f"{lists.LOCUST_USERS} users: saturated (no think time) {lists.ROUNDS} x "
        f"{lists.SECONDS:g} s per side, paced (think {THINK.replace(',', '-')} s) 1 x "
        f"{PACED_SECONDS:g} s per side; pairs alternated."
    )
    print(f"Machine: {machine()}; load average {loads[0]} at the start, {loads[1]} at the end.")
    head = (
        f"{'':36} {'':5} {'saturated':-^35}  {'paced':-^23}  {'alone':-^7}\n"
        f"{'page':36} {'side':5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'CPU/req':>8}  "
        f"{'req/s':>5} {'p50':>5} {'p95':>5} {'p99':>5}  {'p95':>7}"
    )
    print(head)
    print("-" * len(head.splitlines()[1]))
    passed = True
    for name, saturated, paced in results:
        for side in ("app", "admin"):
            s, p = saturated[side], paced[side]
            print(
                f"{name if side == 'app' else '':36} {side:5} {s['locust_rps']:7.1f} "
                f"{s['p50']:6.0f} {s['p95']:6.0f} {s['p99']:6.0f} {s['cpu_ms']:6.1f}ms  "
                f"{p['locust_rps']:5.1f} {p['p50']:5.0f} {p['p95']:5.0f} {p['p99']:5.0f}  "
                f"{s['p95_alone']:7.1f}"
            )
        ok, why = verdict(saturated, paced)
        passed &= ok
        app, admin = saturated["app"], saturated["admin"]
        print(
            f"{'':36} app/admin: req/s {app['locust_rps'] / admin['locust_rps']:.2f}x, "
            f"CPU {app['cpu_ms'] / admin['cpu_ms']:.2f}x, "
            f"paced p95 {paced['app']['p95'] / paced['admin']['p95']:.2f}x -> "
            + ("PASS" if ok else "FAIL (" + "; ".join(why) + ")")
        )
    print(
        f"(ms; goals: paced p95 < {GOAL_P95_MS:.0f} ms at {lists.LOCUST_USERS} users; saturated "
        f"req/s >= {GOAL_RATIO:.1f}x the admin's and p95 <= the admin's; alone: p95 of "
        f"{lists.SOLO} requests one at a time, for reference)"
    )
    print("Verdict:", "PASS" if passed else "FAIL")
    return passed


def main() -> int:
    if lists.locust_missing():
        return 0
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
        ready = lists.prepare(workdir)
        if ready is None:
            return 0
        env, setup = ready
        pages = [case for case in lists.chosen(lists.cases(setup)) if case[0] in PAGES]
        results = []
        with lists.serving(env, setup, workdir) as (base, pids):
            for case in pages:
                print(f"  measuring {case[0]} …", flush=True)
                saturated = lists.measure(base, setup, pids, case, workdir)
                paced = lists.measure(
                    base,
                    setup,
                    pids,
                    case,
                    workdir,
                    rounds=1,
                    solo=False,
                    think=THINK,
                    seconds=PACED_SECONDS,
                )
                results.append((case[0], saturated, paced))
    loads.append(load_average())
    report(setup, results, tuple(loads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
