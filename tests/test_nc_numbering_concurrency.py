"""Non-conformance numbers stay unique and gapless when many people file at the same moment, and a history
chain stays whole when many people add to it at once (PostgreSQL).

SQLite lets one writer at a time in, so only a server database shows whether the counter row's lock really
serialises the filers. Each thread files through the service in its own application context (and so its
own session and connection) of the same app; a filing refused on the way takes no number.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from capa.accounts import service as accounts
from capa.accounts.models import User
from capa.audit import chain
from capa.audit.models import RecordChange
from capa.capas import filing
from capa.capas.commands import FileNC
from capa.capas.errors import IdempotencyKeyReused
from capa.capas.models import NonConformance, NumberCounter
from capa.common.commands import parse
from capa.common.errors import Conflict, ValidationError
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewLine, NewStyle
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="concurrent filing needs PostgreSQL (set CAPA_TEST_DATABASE_URL); SQLite has one writer"
)

THREADS = 8
PER_THREAD = 5
REPORTED_AT = "2026-06-01T10:00:00+08:00"


def nc_body(thread: int, index: int, **changes) -> dict:
    return {
        "title": f"Loose snap, filer {thread}, NC {index}",
        "defect_type": "loose_button",
        "source": "inline",
        "line": "L1",
        "style": "RMP-2301",
        "reported_at": REPORTED_AT,
        **changes,
    }


@pytest.fixture
def filers(app, make_user) -> list[int]:
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    return [make_user("quality_manager", f"filer{n}").id for n in range(THREADS)]


def run_in_threads(app, user_ids: list[int], work) -> list:
    """Run ``work(thread_index, actor)`` in one thread per user, each in its own app context of ``app``,
    all starting together."""
    start = threading.Barrier(len(user_ids))

    def thread_main(thread_index: int):
        with app.app_context():
            try:
                actor = db.session.get(User, user_ids[thread_index])
                db.session.commit()  # end the read transaction before waiting
                start.wait(timeout=30)
                return work(thread_index, actor)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(user_ids)) as pool:
        return list(pool.map(thread_main, range(len(user_ids))))


def stored_numbers() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(NonConformance.number).order_by(NonConformance.sequence)))


def test_concurrent_filing_gives_unique_gapless_numbers(app, filers):
    def work(thread: int, actor: User) -> list[str]:
        return [filing.file_nc(parse(FileNC, nc_body(thread, index)), actor).number for index in range(PER_THREAD)]

    per_thread = run_in_threads(app, filers, work)

    expected = [f"NC-2026-{sequence:05d}" for sequence in range(1, THREADS * PER_THREAD + 1)]
    issued = [number for numbers in per_thread for number in numbers]
    assert len(issued) == len(set(issued)) == THREADS * PER_THREAD
    assert sorted(issued) == expected
    # Each filer's own numbers rise: a later filing never gets an earlier number.
    assert all(numbers == sorted(numbers) for numbers in per_thread)
    assert stored_numbers() == expected
    assert db.session.get(NumberCounter, 2026).last == THREADS * PER_THREAD


def test_filings_refused_in_between_take_no_number(app, filers):
    def work(thread: int, actor: User) -> list[str]:
        numbers = []
        for index in range(PER_THREAD):
            numbers.append(filing.file_nc(parse(FileNC, nc_body(thread, index)), actor).number)
            # Refused by validation, before a number is taken.
            with pytest.raises(ValidationError):
                filing.file_nc(parse(FileNC, nc_body(thread, index, line="L9")), actor)
            # Refused inside the filing's transaction, after its number was taken: a second account with a
            # taken user name reports it, so storing the NC fails; the number is rolled back with it.
            impostor = User(username=actor.username, role="quality_manager", password_hash="x")
            with pytest.raises(Conflict):
                filing.file_nc(parse(FileNC, nc_body(thread, index, title="Never stored")), impostor)
        return numbers

    per_thread = run_in_threads(app, filers, work)

    expected = [f"NC-2026-{sequence:05d}" for sequence in range(1, THREADS * PER_THREAD + 1)]
    assert sorted(number for numbers in per_thread for number in numbers) == expected
    assert stored_numbers() == expected
    assert db.session.get(NumberCounter, 2026).last == THREADS * PER_THREAD
    assert db.session.scalar(select(NonConformance).where(NonConformance.title == "Never stored")) is None


# One idempotency key, sent by several requests at the same moment --------------------------------------------


def resend_at_once(app, filer_id: int, bodies: list[dict], key: str) -> list[tuple[str, str]]:
    """File ``bodies`` under one key of one user, one thread each, all at once; what each thread got:
    ``("filed" or "replayed", number)``, or ``("refused", the number the key filed)``."""

    def work(thread: int, actor: User) -> tuple[str, str]:
        try:
            filed = filing.file_nc_once(parse(FileNC, bodies[thread]), actor, key)
        except IdempotencyKeyReused as refusal:
            return "refused", refusal.number
        return "replayed" if filed.replayed else "filed", filed.nc.number

    return run_in_threads(app, [filer_id] * len(bodies), work)


def test_concurrent_resends_of_one_key_file_one_nc(app, filers):
    outcomes = resend_at_once(app, filers[0], [nc_body(0, 0)] * THREADS, key="phone-entry-1")

    assert stored_numbers() == ["NC-2026-00001"]
    assert sorted(outcomes) == [("filed", "NC-2026-00001")] + [("replayed", "NC-2026-00001")] * (THREADS - 1)
    # The losers' numbers were rolled back with them: the next filing takes the next number.
    assert db.session.get(NumberCounter, 2026).last == 1


def test_concurrent_filings_of_one_key_with_different_content_file_one_and_refuse_the_others(app, filers):
    outcomes = resend_at_once(app, filers[0], [nc_body(thread, 0) for thread in range(THREADS)], key="reused")

    assert stored_numbers() == ["NC-2026-00001"]
    assert sorted(outcomes) == [("filed", "NC-2026-00001")] + [("refused", "NC-2026-00001")] * (THREADS - 1)
    assert db.session.get(NumberCounter, 2026).last == 1


def test_concurrent_entries_of_one_history_keep_its_chain_whole(app, filers):
    """Eight people issuing API tokens for one account at the same moment: no row of the account itself is
    changed, so only the lock on the chain's head orders the eight "token issued" entries of its history.
    Every one has its own place in the chain, with no gap, and the chain verifies."""
    owner_id = filers[0]

    def work(thread: int, actor: User) -> str:
        accounts.create_token(db.session.get(User, owner_id), actor)
        return "issued"

    assert run_in_threads(app, filers, work) == ["issued"] * THREADS
    db.session.expire_all()
    entries = db.session.scalars(
        select(RecordChange)
        .where(RecordChange.record_type == "user", RecordChange.record_id == owner_id)
        .order_by(RecordChange.chain_seq)
    ).all()
    assert [entry.kind for entry in entries].count("token_issued") == THREADS
    assert [entry.chain_seq for entry in entries] == list(range(1, len(entries) + 1))
    assert chain.verify() == []
