"""The draw service's foundation: departments and Idempotency-Key records.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draw_departments",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("vkey", sa.Text, nullable=True),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("token_hash", name="draw_departments_token_hash"),
    )
    op.create_table(
        "draw_idempotency_keys",
        sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("content_type", sa.Text, nullable=True),
        sa.Column("location", sa.Text, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
