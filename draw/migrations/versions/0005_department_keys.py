"""Department key history: one row per dept.register and dept.key entry.

Every registered department gets the row of its dept.register entry, with the key it registered.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draw_department_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
        sa.Column("vkey", sa.Text, nullable=True),
        sa.Column("supersedes", sa.BigInteger, nullable=True),
        sa.Column("ledger_index", sa.BigInteger, nullable=True),
        sa.Column("ledger_size", sa.BigInteger, nullable=False),
        sa.Column("pending", sa.Boolean, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("ledger_index", name="draw_department_keys_ledger_index"),
        sa.UniqueConstraint("department", "pending", name="draw_department_keys_pending"),
    )
    op.create_index(
        "draw_department_keys_department", "draw_department_keys", ["department", "ledger_index"]
    )
    op.execute(
        "INSERT INTO draw_department_keys (department, vkey, ledger_index, ledger_size, created_ms) "
        "SELECT code, vkey, ledger_index, ledger_index, created_ms FROM draw_departments "
        "WHERE ledger_index IS NOT NULL"
    )
