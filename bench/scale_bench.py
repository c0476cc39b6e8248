"""Benchmark: the app at a factory group's scale, each figure a ratio against its floor measured in the same run.

Run with `make bench` (or `python bench/scale_bench.py`). On a scratch PostgreSQL database (BENCH_DATABASE_URL's
server, default the test server) and a scratch SQLite file, it:

1. fills each with ``flask --app capa demo-data --ncs BENCH_NCS`` (default 1,000,000) and reports the time (the
   target is at most 2 minutes on a 2-core machine);
2. on PostgreSQL, times requests through the app (server time: the WSGI app called in process, no network), each
   BENCH_REQUESTS times, and reports p95 against its floor: an empty request through the same app (the signed-in
   user's /api/v1/me) plus the bare SQL of the request (every statement it ran, captured once, replayed on a
   psycopg cursor): the NC list page and the API list (50 rows, newest first, unfiltered and filtered), an NC page
   with its whole history, the quality manager's home, filing an NC through the API, and a CSV export of about
   100,000 rows against the bare keyset query plus csv.writer.

BENCH_KEEP=1 keeps the PostgreSQL database for a look afterwards (EXPLAIN). Nothing here is asserted in tests;
the figures of a run on the project's machine are recorded in the README.
"""

import csv
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import event, select, text

ROWS = int(os.environ.get("BENCH_NCS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-password-2026"


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def filled_app(url: str, instance: str):
    """A migrated database filled by demo-data, timed."""
    from flask_migrate import upgrade

    from capa import create_app
    from capa.capas.defect_types import load_defect_types
    from capa.demo import generate
    from capa.extensions import db
    from capa.safety.catalog import load_catalog

    settings = {"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False}
    app = create_app({"DATABASE_URL": url, "CAPA_INSTANCE_PATH": instance, **settings})
    with app.app_context():
        upgrade()
        load_catalog()
        load_defect_types()
        started = time.perf_counter()
        report = generate.fill(ROWS, seed=1, password=PASSWORD)
        elapsed = time.perf_counter() - started
        if url.startswith("postgresql"):
            # The load's gigabytes of dirty pages written out now, not by the checkpointer while requests are timed.
            db.session.execute(text("CHECKPOINT"))
            db.session.commit()
    return app, report, elapsed


class Statements:
    """Every statement the app runs while it is on, with its parameters."""

    def __init__(self, engine):
        self.engine = engine
        self.seen: list[tuple] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._keep)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._keep)

    def _keep(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))


def replay(url: str, statements: list[tuple], runs: int) -> float:
    """Median time of the statements replayed bare on a psycopg cursor (read-only, committed: as the app ends a
    request that only read, so psycopg keeps what it prepared)."""
    times = []
    with psycopg.connect(plain(url)) as raw:
        for _ in range(runs):
            started = time.perf_counter()
            with raw.cursor() as cursor:
                for statement, parameters in statements:
                    cursor.execute(statement, parameters)
                    if cursor.description is not None:
                        cursor.fetchall()
            raw.commit()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def timed(call, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        body = response.get_data()
        samples.append(time.perf_counter() - started)
        if response.status_code >= 400:
            raise RuntimeError(f"{response.status_code}: {body[:300]!r}")
    return samples


def requests_bench(app, url: str) -> list[tuple[str, float, float, int]]:
    """(what, p95 of the request, its floor, statements) for each request measured."""
    from capa.accounts import service as accounts
    from capa.accounts.models import User
    from capa.capas.models import NonConformance
    from capa.extensions import db
    from capa.masterdata.models import Batch, ProductionLine, Style

    with app.app_context():
        manager = db.session.scalars(select(User).where(User.username == "qm1")).one()
        supervisor = db.session.scalars(select(User).where(User.username == "sup01")).one()
        qm_token = accounts.create_token(manager)
        sup_token = accounts.create_token(supervisor)
        line = db.session.scalar(select(ProductionLine.code).order_by(ProductionLine.id).limit(1))
        closed = db.session.scalar(
            select(NonConformance.number)
            .where(NonConformance.status == "closed")
            .order_by(NonConformance.version.desc(), NonConformance.id)
            .limit(1)
        )
        batch = db.session.execute(
            select(Batch.number, Style.code, ProductionLine.code)
            .join(Style, Style.id == Batch.style_id)
            .join(ProductionLine, ProductionLine.id == Batch.line_id)
            .where(ProductionLine.code == line)
            .limit(1)
        ).one()
        newest = db.session.scalar(select(NonConformance.reported_at).order_by(NonConformance.id.desc()).limit(1))
    since = (newest.date().toordinal() - 76) if newest else 0  # about 100,000 NCs back at a million
    from datetime import date

    export_from = date.fromordinal(since).isoformat()
    api_qm = {"Authorization": f"Bearer {qm_token}"}
    api_sup = {"Authorization": f"Bearer {sup_token}"}
    page = app.test_client()
    login = page.post("/login", data={"username": "qm1", "password": PASSWORD})
    if login.status_code != 302:
        raise RuntimeError(f"login refused: {login.status_code}")
    api = app.test_client()

    cases = [
        ("API list, 50 newest", lambda: api.get("/api/v1/nonconformances?per_page=50&cursor=first", headers=api_qm)),
        ("API list by state and line", lambda: api.get(
            f"/api/v1/nonconformances?per_page=50&cursor=first&status=action&line={line}", headers=api_qm)),
        ("NC list page, unfiltered", lambda: page.get("/nc?per_page=50")),
        ("NC list page, by state and line", lambda: page.get(f"/nc?per_page=50&status=action&line={line}")),
        ("NC list page, text search", lambda: page.get("/nc?per_page=50&q=拉力测试")),
        ("NC page, closed, whole history", lambda: page.get(f"/nc/{closed}")),
        ("Quality manager's home", lambda: page.get("/")),
    ]  # fmt: skip
    empty = p95(timed(lambda: api.get("/api/v1/me", headers=api_qm), REQUESTS))
    results = []
    engine = None
    with app.app_context():
        from capa.extensions import db as _db

        engine = _db.engine
    for name, call in cases:
        call()  # warm
        with Statements(engine) as statements:
            call()
        floor = empty + replay(url, statements.seen, max(5, REQUESTS // 4))
        results.append((name, p95(timed(call, REQUESTS)), floor, len(statements.seen)))

    number = iter(range(10**9))

    def file_one():
        return api.post(
            "/api/v1/nonconformances",
            headers=api_sup,
            json={
                "title": f"按扣拉力不足 {next(number)}",
                "description": "",
                "defect_type": "loose_button",
                "source": "inline",
                "line": batch[2],
                "style": batch[1],
                "batch": batch[0],
            },
        )

    file_one()
    with Statements(engine) as statements:
        file_one()
    reads = [s for s in statements.seen if s[0].lstrip().upper().startswith("SELECT")]
    results.append(
        ("Filing an NC (API)", p95(timed(file_one, REQUESTS)), empty + replay(url, reads, 5), len(statements.seen))
    )

    # CSV export: the response streamed whole against the bare keyset query plus csv.writer.
    export = f"/nc?format=csv&reported_from={export_from}"
    samples = timed(lambda: page.get(export), 3)
    with Statements(engine) as statements:
        body = page.get(export).get_data()
    exported_rows = body.count(b"\n") - 1
    started = time.perf_counter()
    with psycopg.connect(plain(url)) as raw, raw.cursor() as cursor:
        out = csv.writer(io.StringIO())
        for statement, parameters in statements.seen:
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                for row in cursor.fetchall():
                    out.writerow(row)
    floor = time.perf_counter() - started
    results.append((f"CSV export, {exported_rows:,} rows", statistics.median(samples), floor, len(statements.seen)))
    return results


def main() -> int:
    name = f"capa_bench_{uuid.uuid4().hex[:8]}"
    base, _, _ = SERVER.rpartition("/")
    url = f"{base}/{name}"
    scratch = Path(tempfile.mkdtemp(prefix="capa-bench-"))
    with psycopg.connect(plain(SERVER), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # The setting the README's production section and deploy/compose.yaml give a server on SSDs.
        admin.execute(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1')
    try:
        app, report, elapsed = filled_app(url, str(scratch / "pg"))
        print(f"demo-data on PostgreSQL: {report.ncs:,} NCs, {report.rows:,} rows in {elapsed:.1f} s", flush=True)
        print(f"{'request':36} {'p95 ms':>8} {'floor ms':>9} {'ratio':>6} {'SQL':>4}")
        for what, seconds, floor, count in requests_bench(app, url):
            print(f"{what:36} {seconds * 1000:8.1f} {floor * 1000:9.1f} {seconds / floor:6.2f} {count:4d}", flush=True)
        with app.app_context():
            from capa.extensions import db

            db.session.remove()
            db.engine.dispose()
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept the database {name} (BENCH_KEEP)")
        else:
            with psycopg.connect(plain(SERVER), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if os.environ.get("BENCH_SQLITE", "1") != "0":
        _, report, elapsed = filled_app(f"sqlite:///{scratch / 'bench.db'}", str(scratch / "sqlite"))
        print(f"demo-data on SQLite: {report.ncs:,} NCs, {report.rows:,} rows in {elapsed:.1f} s", flush=True)
        (scratch / "bench.db").unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
