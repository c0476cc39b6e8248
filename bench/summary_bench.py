"""Benchmark: building one week's summary at 1,000,000 non-conformances over two years, on PostgreSQL.

Run with `make bench`. It creates a scratch database on the server of BENCH_DATABASE_URL (default: the test
server), fills it with generated data, then times, alternately and several times each:

- the floor: the bare SQL aggregate statements that compute the week's figures, replayed straight on a
  psycopg cursor (captured from one build, so they are exactly the statements the summary needs), with no
  ORM, no pandas and no JSON;
- the build: capa.trends.service.build(week, force=True), everything included.

It reports the median of each, their ratio (the target is at most 1.5) and the peak memory of a fresh
process that builds the summary (the target is under 400 MB). Nothing is asserted on wall time in tests;
the figures of a run on the project's machine are recorded in the README.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import event

ROWS = int(os.environ.get("BENCH_NCS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WEEK = os.environ.get("BENCH_WEEK", "2026-W40")


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def fill(url: str) -> None:
    """Master data and ROWS NCs spread over the two years up to the benchmarked week, with their parameters,
    actions, retests and holds, generated in the database itself."""
    with psycopg.connect(plain(url), autocommit=True) as db:
        db.execute(
            "INSERT INTO users (username, password_hash, role, active, created_at) "
            "VALUES ('bench', 'x', 'quality_manager', true, now())"
        )
        db.execute(
            "INSERT INTO production_lines (code, name, created_at) "
            "SELECT 'L' || g, 'Line ' || g, now() FROM generate_series(1, 20) g"
        )
        db.execute(
            "INSERT INTO suppliers (code, name, approval, created_at) "
            "SELECT 'S' || g, 'Supplier ' || g, 'approved', now() FROM generate_series(1, 60) g"
        )
        db.execute(
            "INSERT INTO styles (code, name, category, cmia_required, created_at) "
            "SELECT 'ST' || g, 'Style ' || g, (ARRAY['A','B','C'])[1 + g % 3], g % 2 = 0, now() "
            "FROM generate_series(1, 300) g"
        )
        db.execute(
            "INSERT INTO batches (number, style_id, line_id, created_at) "
            "SELECT 'B' || g, 1 + g % 300, 1 + g % 20, now() FROM generate_series(1, 20000) g"
        )
        db.execute(
            "INSERT INTO material_lots (number, kind, supplier_id, created_at) "
            "SELECT 'LOT' || g, (ARRAY['fabric','dye_lot','trim'])[1 + g % 3], 1 + g % 60, now() "
            "FROM generate_series(1, 40000) g"
        )
        db.execute("INSERT INTO batch_lots (batch_id, lot_id) SELECT 1 + g % 20000, g FROM generate_series(1, 40000) g")
        generated = sql.SQL("""
            INSERT INTO nonconformances (number, year, sequence, status, version, title, description,
                defect_type_id, source, severity, line_id, style_id, batch_id, category, quantity_affected,
                safety_critical, reported_by_id, reported_at, created_at, containment, effectiveness,
                cancel_reason, closed_at, cancelled_at)
            SELECT 'NC-B-' || g, 2026, g,
                   CASE WHEN g % 10 < 8 THEN 'closed' WHEN g % 10 = 8 THEN 'action' ELSE 'investigation' END,
                   1, 'Generated NC ' || g, '', 1 + g % 15,
                   (ARRAY['inline','end_of_line','final_audit','lab_test','customer_complaint','incoming_material'])
                       [1 + g % 6],
                   'major', 1 + g % 20, 1 + g % 300, 1 + g % 20000, NULL, g % 50, g % 97 = 0, 1,
                   r.at, r.at, '', '', '',
                   CASE WHEN g % 10 < 8 THEN r.at + (g % 45) * interval '1 day' END, NULL
            FROM generate_series(1, {rows}) g,
                 LATERAL (SELECT timestamptz '2026-10-05 00:00+08' - interval '730 days'
                                 + (interval '730 days' * g / {rows}) AS at) r
        """)
        db.execute(generated.format(rows=sql.Literal(ROWS)))
        db.execute("""
            INSERT INTO nc_parameters (nc_id, parameter_id)
            SELECT id, 1 + id % 40 FROM nonconformances WHERE id % 3 = 0
        """)
        db.execute("""
            INSERT INTO capa_actions (nc_id, kind, description, owner_id, due_date, status, evidence, created_at,
                                      completed_at)
            SELECT id, 'corrective', 'Action', 1, (reported_at + interval '20 days')::date,
                   CASE WHEN status = 'closed' THEN 'done' ELSE 'open' END, '', reported_at, closed_at
            FROM nonconformances WHERE id % 2 = 0
        """)
        db.execute("""
            INSERT INTO lab_results (batch_id, nc_id, parameter_id, value, verdict, category, comparator, "limit",
                                     unit, explanation, near_limit, lab, report_number, tested_at, recorded_by_id,
                                     recorded_at)
            SELECT batch_id, id, 1 + id % 40, '1', CASE WHEN id % 7 = 0 THEN 'fail' ELSE 'pass' END, 'A', 'max',
                   '20', 'mg/kg', '', id % 11 = 0, 'Lab', 'R', (reported_at + interval '10 days')::date, 1,
                   reported_at + interval '10 days'
            FROM nonconformances WHERE id % 3 = 0
        """)
        db.execute("""
            INSERT INTO holds (nc_id, batch_id, held_by_id, held_at, release_reason)
            SELECT id, batch_id, 1, reported_at, '' FROM nonconformances WHERE id % 500 = 0
        """)
        db.execute("ANALYZE")


def capture_statements(app, week):
    """Build once and keep every SQL statement the figures took, with its parameters."""
    from capa.extensions import db
    from capa.trends import service

    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", keep)
        service.build(week, force=True)
        event.remove(db.engine, "before_cursor_execute", keep)
    return statements


def main() -> int:
    name = f"capa_bench_{uuid.uuid4().hex[:8]}"
    base, _, _ = SERVER.rpartition("/")
    url = f"{base}/{name}"
    instance = str(Path(tempfile.gettempdir()) / name)
    with psycopg.connect(plain(SERVER), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        from flask_migrate import upgrade

        from capa import create_app
        from capa.capas.defect_types import load_defect_types
        from capa.extensions import db
        from capa.safety.catalog import load_catalog
        from capa.trends import service
        from capa.trends.weeks import Week

        app = create_app({"DATABASE_URL": url, "CAPA_INSTANCE_PATH": instance})
        with app.app_context():
            upgrade()
            load_catalog()
            load_defect_types()
        started = time.perf_counter()
        fill(url)
        print(f"generated {ROWS:,} NCs in {time.perf_counter() - started:.1f} s", flush=True)
        week = Week.parse(WEEK)
        statements = capture_statements(app, week)
        print(f"a build runs {len(statements)} SELECT statements", flush=True)

        floors, builds = [], []
        with psycopg.connect(plain(url)) as raw:
            for _ in range(RUNS):
                started = time.perf_counter()
                with raw.cursor() as cursor:
                    for statement, parameters in statements:
                        cursor.execute(statement, parameters)
                        cursor.fetchall()
                raw.rollback()
                floors.append(time.perf_counter() - started)
                with app.app_context():
                    started = time.perf_counter()
                    service.build(week, force=True)
                    builds.append(time.perf_counter() - started)
                    db.session.remove()
        floor, build = statistics.median(floors), statistics.median(builds)
        peak = subprocess.run(  # noqa: S603 (our own script, our arguments)
            [sys.executable, __file__, "--peak", url, WEEK, instance], capture_output=True, text=True, check=True
        ).stdout.strip()
        print(f"floor (bare SQL aggregates): median {floor * 1000:.0f} ms over {RUNS} runs")
        print(f"build (the summary):         median {build * 1000:.0f} ms over {RUNS} runs")
        print(f"ratio build / floor:         {build / floor:.2f} (target <= 1.5)")
        print(f"peak memory of a build:      {peak} MB (target < 400 MB)")
        return 0 if build / floor <= 1.5 and float(peak) < 400 else 1
    finally:
        with psycopg.connect(plain(SERVER), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def peak(url: str, week_text: str, instance: str) -> None:
    """In a fresh process: build the week once and print the process's peak resident memory in MB."""
    from capa import create_app
    from capa.trends import service
    from capa.trends.weeks import Week

    app = create_app({"DATABASE_URL": url, "CAPA_INSTANCE_PATH": instance})
    with app.app_context():
        service.build(Week.parse(week_text), force=True)
    print(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peak":
        peak(*sys.argv[2:5])
        sys.exit(0)
    sys.exit(main())
