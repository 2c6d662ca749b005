"""Rosters, item lists, plans, tasks and task pools (draw.service.rosters, items, plans, tasks).

Revision ID: 0002
Revises: 0001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _published(name: str, *columns: sa.Column[Any], index_on: str = "department") -> None:
    """Create a table with an integer id, ``columns``, ledger_index (unique) and created_ms, indexed
    by (``index_on``, ledger_index)."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *columns,
        sa.Column("ledger_index", sa.BigInteger, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("ledger_index", name=f"{name}_ledger_index"),
    )
    op.create_index(f"{name}_{index_on}", name, [index_on, "ledger_index"])


def _department() -> sa.Column[Any]:
    return sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False)


def upgrade() -> None:
    _published(
        "draw_roster_snapshots",
        _department(),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("records", sa.Text, nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("report", sa.LargeBinary, nullable=False),
    )
    _published(
        "draw_item_lists",
        _department(),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("effective", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    _published(
        "draw_plans",
        _department(),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    _published(
        "draw_tasks",
        _department(),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("participants", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    _published(
        "draw_task_pools",
        sa.Column("task", sa.BigInteger, nullable=False),
        _department(),
        sa.Column("roster", sa.BigInteger, nullable=False),
        index_on="task",
    )
