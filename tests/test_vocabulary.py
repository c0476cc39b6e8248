"""The typed vocabulary reaches the database: every coded column is kept to its enum by a CHECK constraint,
the migrations create exactly the constraints the models declare, and a row written around the app with an
unknown value is refused on both engines."""

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError

from capa.accounts.models import Role
from capa.capas import filing
from capa.capas.commands import FileNC
from capa.capas.models import ActionKind, FishboneCategory, NonConformance, ReviewDecision, Severity, Source
from capa.capas.states import State
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewLine
from capa.safety.judging import Comparator, Outcome
from capa.trends.models import MailStatus, SummaryStatus


def declared_checks() -> dict[str, set[str]]:
    return {
        table.name: {
            constraint.name for constraint in table.constraints if constraint.__class__.__name__ == "CheckConstraint"
        }
        for table in db.metadata.sorted_tables
    }


def test_the_migrated_database_holds_exactly_the_check_constraints_the_models_declare(app):
    inspector = inspect(db.engine)
    in_database = {
        table: {constraint["name"] for constraint in inspector.get_check_constraints(table)}
        for table in declared_checks()
    }
    assert in_database == declared_checks()


@pytest.mark.parametrize(
    ("enum", "column"),
    [
        (State, "ck_nonconformances_status_known"),
        (Source, "ck_nonconformances_source_known"),
        (Severity, "ck_nonconformances_severity_known"),
        (FishboneCategory, "ck_root_cause_analyses_category_known"),
        (ReviewDecision, "ck_root_cause_analyses_decision_known"),
        (ActionKind, "ck_capa_actions_kind_known"),
        (Comparator, "ck_lab_results_comparator_known"),
        (Outcome, "ck_lab_results_verdict_known"),
        (Role, "ck_users_role_known"),
        (SummaryStatus, "ck_weekly_summaries_status_known"),
        (MailStatus, "ck_weekly_summaries_mail_status_known"),
    ],
)
def test_each_constraint_lists_every_value_of_its_enum(app, enum, column):
    checks = {c.name: str(c.sqltext) for t in db.metadata.sorted_tables for c in t.constraints if c.name == column}
    assert column in checks
    for member in enum:
        assert f"'{member.value}'" in checks[column]


@pytest.fixture
def filed(app, make_user):
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    nc = filing.file_nc(
        parse(FileNC, {"title": "Loose", "defect_type": "loose_button", "source": "inline", "line": "L1"}),
        make_user("supervisor"),
    )
    return nc.id


@pytest.mark.parametrize(
    ("column", "value"),
    [("status", "done"), ("source", "rumour"), ("severity", "urgent"), ("category", "D")],
)
def test_a_row_written_around_the_app_with_an_unknown_value_is_refused(filed, column, value):
    table = NonConformance.__table__
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == filed).values({column: value}))
    assert db.session.scalar(select(table.c[column]).where(table.c.id == filed)) != value
