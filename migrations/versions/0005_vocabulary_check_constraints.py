"""every coded column kept to its vocabulary by a CHECK constraint

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:20:00

The constraints already in place (states, roles, kinds, approvals, categories, comparators of limits,
verdicts) stay; these add the coded columns that had none. The values are written out as they are today,
not read from the code's enums, so that this revision means the same thing whenever it runs.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COMPARATORS = "'max', 'lt', 'min', 'range', 'grade_min', 'absent', 'pass_fail'"

#: table: [(constraint name, condition)]
ADDED = {
    "nonconformances": [
        (
            "source_known",
            "source IN ('inline', 'end_of_line', 'final_audit', 'lab_test', 'customer_complaint', 'incoming_material')",
        ),
        ("severity_known", "severity IN ('minor', 'major', 'critical')"),
    ],
    "root_cause_analyses": [
        (
            "category_known",
            "category IN ('man', 'machine', 'method', 'material', 'measurement', 'environment')",
        ),
        ("decision_known", "decision IN ('', 'approve', 'return')"),
    ],
    "parameter_limits": [
        ("catalog_comparator_known", f"catalog_comparator IS NULL OR catalog_comparator IN ({COMPARATORS})"),
    ],
    "limit_changes": [
        ("category_known", "category IN ('A', 'B', 'C', 'all')"),
        ("old_comparator_known", f"old_comparator IS NULL OR old_comparator IN ({COMPARATORS})"),
        ("new_comparator_known", f"new_comparator IS NULL OR new_comparator IN ({COMPARATORS})"),
    ],
    "lab_results": [
        ("category_known", "category IN ('A', 'B', 'C')"),
        ("comparator_known", f"comparator IS NULL OR comparator IN ({COMPARATORS})"),
    ],
    "weekly_summaries": [
        ("status_known", "status IN ('building', 'built', 'failed')"),
        ("mail_status_known", "mail_status IN ('not_configured', 'pending', 'sending', 'sent', 'failed')"),
    ],
}


def upgrade():
    for table, constraints in ADDED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, condition in constraints:
                batch_op.create_check_constraint(name, condition)


def downgrade():
    for table, constraints in ADDED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _condition in constraints:
                batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
