"""Draws, their entries and the ceremony commitments they declared (draw.service.draws_store).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draw_draws",
        sa.Column("draw_id", sa.Text, primary_key=True),
        sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
        sa.Column("task", sa.BigInteger, nullable=True),
        sa.Column("participants", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("commit_index", sa.BigInteger, nullable=True),
        sa.Column("commit_ms", sa.BigInteger, nullable=True),
        sa.Column("embargo", sa.Text, nullable=False),
        sa.Column("inspection_end", sa.Text, nullable=False),
        sa.Column("publish_immediately", sa.Boolean, nullable=False),
        sa.Column("reveal_due_ms", sa.BigInteger, nullable=False),
        sa.Column("secret", sa.LargeBinary, nullable=False),
        sa.Column("population", sa.LargeBinary, nullable=False),
        sa.Column("result", sa.LargeBinary, nullable=True),
        sa.Column("busy_until", sa.BigInteger, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("commit_index", name="draw_draws_commit_index"),
    )
    op.create_index("draw_draws_department", "draw_draws", ["department", "commit_index"])
    op.create_index("draw_draws_state", "draw_draws", ["state", "commit_index"])
    op.create_table(
        "draw_draw_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("draw_id", sa.Text, sa.ForeignKey("draw_draws.draw_id"), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=True),
        sa.Column("body_hash", sa.LargeBinary, nullable=False),
        sa.Column("scan_from", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("ledger_index", name="draw_draw_entries_ledger_index"),
    )
    op.create_index("draw_draw_entries_draw", "draw_draw_entries", ["draw_id", "ledger_index"])
    op.create_table(
        "draw_ceremony_commitments",
        sa.Column("commitment", sa.LargeBinary, primary_key=True),
        sa.Column("draw_id", sa.Text, sa.ForeignKey("draw_draws.draw_id"), nullable=False),
    )
