"""Result disclosures: one row per disclosure.result / .correct / .withdraw entry.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draw_disclosures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("draw_id", sa.Text, nullable=False),
        sa.Column("object_id", sa.Text, nullable=False),
        sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("draw_disclosures.id"), nullable=True),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("inspection_end", sa.Date, nullable=False),
        sa.Column("recorded_ms", sa.BigInteger, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=True),
        sa.Column("ledger_size", sa.BigInteger, nullable=False),
        sa.Column("is_open", sa.Boolean, nullable=True),
        sa.UniqueConstraint("ledger_index", name="draw_disclosures_ledger_index"),
        sa.UniqueConstraint("draw_id", "object_id", "department", "is_open", name="draw_disclosures_open"),
    )
    op.create_index("draw_disclosures_result", "draw_disclosures", ["result_id"])
    op.create_index("draw_disclosures_payload", "draw_disclosures", ["payload"])
