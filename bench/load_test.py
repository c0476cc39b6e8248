"""Load test: many people at once against gunicorn, then a check that nothing was lost.

Run with `make load` (also part of `make bench`). For each engine it fills a scratch database with demo-data
(PostgreSQL: BENCH_NCS NCs, default 1,000,000; SQLite in WAL mode: BENCH_SQLITE_NCS, default 100,000; a
1,000,000-NC SQLite fill is measured by scale_bench.py), starts gunicorn (LOAD_WORKERS sync workers, default 4,
about two per core) on a free port, and runs locust headless (bench/locustfile.py) for LOAD_SECONDS (default 60)
with LOAD_USERS people (default 32 on PostgreSQL, 8 on SQLite): supervisors filing NCs and reading lists and NC
pages, quality managers opening their home page and containing the NCs just filed, sometimes two at once.

It reports requests per second, the p95 of every request and per kind, and the failures, then checks the
database: every NC answered 201 is there, this year's numbers are unique and gapless (1 … the counter), no NC
was contained twice (the second of two quality managers is refused with 409, never accepted), and SQLite never
said "database is locked". Exit status 1 when a check fails. Nothing here is asserted in tests; the README
records the figures of a run on the project's machine.
"""

import csv
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg
import scale_bench
from scale_bench import PASSWORD, filled_app, plain
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_in(base: str, username: str) -> str:
    """The session cookie of ``username`` logged in through the login page, as a browser would."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    form = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
    ).encode()
    opener.open(f"{base}/login", data=form)
    return next(cookie.value for cookie in jar if cookie.name == "session")


def plan_for(app, base: str, folder: Path) -> Path:
    """The tokens, sessions, places and NC numbers the locustfile reads (see its docstring). Everyone logs in
    here, before the run: a log-in checks a deliberately slow password hash, once a shift, not once a request."""
    from capa.accounts import service as accounts
    from capa.accounts.models import User
    from capa.capas.models import NonConformance
    from capa.extensions import db
    from capa.masterdata.models import Batch, ProductionLine, Style

    with app.app_context():
        users = db.session.scalars(select(User).where(User.username.like("qm%") | User.username.like("sup%"))).all()
        tokens = {user.username: accounts.create_token(user) for user in users}
        places = db.session.execute(
            select(ProductionLine.code, Style.code, Batch.number)
            .join(Style, Style.id == Batch.style_id)
            .join(ProductionLine, ProductionLine.id == Batch.line_id)
            .order_by(Batch.id.desc())
            .limit(200)
        ).all()
        recent = db.session.scalars(select(NonConformance.number).order_by(NonConformance.id.desc()).limit(500)).all()
    plan = folder / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "tokens": tokens,
                "sessions": {username: signed_in(base, username) for username in tokens},
                "places": [list(place) for place in places],
                "recent": list(recent),
                "accepted": str(folder / "accepted.json"),
            }
        ),
        encoding="utf-8",
    )
    return plan


def serve(url: str, instance: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "CAPA_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "load-test-secret",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "capa:create_app()",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/login", timeout=2)  # noqa: S310 (a local URL built here)
            return server, base
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer; see {log}")


def swarm(base: str, plan: Path, users: int, folder: Path) -> dict:
    """Run locust headless; the totals and the p95 of each kind of request (ms) from its CSV."""
    prefix = folder / "locust"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "--headless",
            "--locustfile",
            str(ROOT / "bench" / "locustfile.py"),
            "--host",
            base,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{SECONDS}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env={**os.environ, "LOAD_PLAN": str(plan)},
        stdout=(folder / "locust.log").open("w"),
        stderr=subprocess.STDOUT,
        check=False,
    )
    with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    with open(f"{prefix}_failures.csv", encoding="utf-8") as failures:
        failed = list(csv.DictReader(failures))
    return {"rows": rows, "failures": failed}


def check(app, accepted_file: Path, log: Path) -> list[str]:
    """What went wrong in the database, if anything (see the module's docstring)."""
    from capa.capas.models import Event, NonConformance, NumberCounter
    from capa.extensions import db

    problems = []
    written = json.loads(accepted_file.read_text(encoding="utf-8")) if accepted_file.exists() else {}
    accepted = written.get("accepted", [])
    if not accepted:
        problems.append("no NC was filed")
    with app.app_context():
        present = set()
        for start in range(0, len(accepted), 500):
            chunk = accepted[start : start + 500]
            present |= set(db.session.scalars(select(NonConformance.number).where(NonConformance.number.in_(chunk))))
        if missing := set(accepted) - present:
            problems.append(f"{len(missing)} NCs answered 201 are missing: {sorted(missing)[:5]}")
        if len(set(accepted)) != len(accepted):
            problems.append("an NC number was given twice")
        for counter in db.session.scalars(select(NumberCounter)):
            count, top, distinct = db.session.execute(
                select(
                    func.count(), func.max(NonConformance.sequence), func.count(func.distinct(NonConformance.sequence))
                ).where(NonConformance.year == counter.year)
            ).one()
            if not (count == distinct == top == counter.last):
                problems.append(
                    f"{counter.year}: {count} NCs, {distinct} numbers, highest {top}, counter {counter.last}"
                )
        twice = db.session.scalar(
            select(func.count()).select_from(
                select(Event.nc_id)
                .where(
                    # Containment moves an NC out of "reported": twice would be one change lost under another.
                    Event.kind == "state",
                    Event.old == "reported",
                    Event.nc_id.in_(select(NonConformance.id).where(NonConformance.number.in_(accepted[-5000:]))),
                )
                .group_by(Event.nc_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        if twice:
            problems.append(f"{twice} NCs were contained twice (a lost update)")
    if "database is locked" in log.read_text(encoding="utf-8", errors="replace"):
        problems.append('the server log says "database is locked"')
    return problems


def report(engine: str, ncs: int, users: int, result: dict, problems: list[str]) -> None:
    total = result["rows"].get("Aggregated", {})
    print(
        f"\n{engine}, {ncs:,} NCs, {users} users, {WORKERS} gunicorn workers, {SECONDS} s: "
        f"{float(total.get('Requests/s', 0)):.1f} requests/s, p95 {total.get('95%', '?')} ms, "
        f"{total.get('Request Count', 0)} requests, {total.get('Failure Count', 0)} failed"
    )
    for name, row in sorted(result["rows"].items()):
        if name != "Aggregated":
            print(
                f"  {name:28} {row['Request Count']:>6} requests  p95 {row['95%']:>6} ms  {row['Failure Count']} failed"
            )
    for failure in result["failures"][:10]:
        print(f"  failure: {failure.get('Name')} {failure.get('Error', '')[:160]} x{failure.get('Occurrences')}")
    print(f"  containments refused as stale (409, another quality manager was first): {result['refused_as_stale']}")
    print(
        "  database check: "
        + ("every accepted NC present, numbers gapless, no lost update" if not problems else "; ".join(problems))
    )


def run(engine: str, url: str, ncs: int, users: int, folder: Path) -> bool:
    scale_bench.ROWS = ncs
    app, filled, elapsed = filled_app(url, str(folder / "instance"))
    print(f"{engine}: demo-data {filled.ncs:,} NCs in {elapsed:.0f} s", flush=True)
    log = folder / "gunicorn.log"
    server, base = serve(url, folder / "instance", log)
    try:
        plan = plan_for(app, base, folder)
        result = swarm(base, plan, users, folder)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    problems = check(app, folder / "accepted.json", log)
    written = folder / "accepted.json"
    result["refused_as_stale"] = json.loads(written.read_text())["refused_as_stale"] if written.exists() else 0
    report(engine, filled.ncs, users, result, problems)
    with app.app_context():
        from capa.extensions import db

        db.engine.dispose()
    failed = int(result["rows"].get("Aggregated", {}).get("Failure Count", 1) or 0)
    return not problems and failed == 0


def main() -> int:
    ok = True
    if os.environ.get("LOAD_POSTGRES", "1") != "0":
        name = f"capa_load_{uuid.uuid4().hex[:8]}"
        base, _, _ = SERVER.rpartition("/")
        with psycopg.connect(plain(SERVER), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            # The setting the README's production section and deploy/compose.yaml give a server on SSDs.
            admin.execute(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1')
        try:
            folder = Path(tempfile.mkdtemp(prefix="capa-load-pg-"))
            ncs = int(os.environ.get("BENCH_NCS", "1000000"))
            ok &= run("PostgreSQL", f"{base}/{name}", ncs, int(os.environ.get("LOAD_USERS", "32")), folder)
        finally:
            with psycopg.connect(plain(SERVER), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if os.environ.get("LOAD_SQLITE", "1") != "0":
        folder = Path(tempfile.mkdtemp(prefix="capa-load-sqlite-"))
        ncs = int(os.environ.get("BENCH_SQLITE_NCS", "100000"))
        users = int(os.environ.get("LOAD_SQLITE_USERS", "8"))
        ok &= run("SQLite (WAL)", f"sqlite:///{folder / 'capa.sqlite3'}", ncs, users, folder)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
