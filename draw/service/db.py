"""The draw service's tables, through SQLAlchemy Core, in the ledger's database.

One ``metadata`` holds every service table; later modules add theirs here and ship an Alembic
revision in ``draw/migrations/versions`` chained after the newest (``0001``, then ``0002``, ...).
The migrations keep their own version table, ``draw_alembic_version``, beside the ledger's.

::

    draw_departments        code -> name, vkey (or NULL), roles (space-separated), SHA-256 of the API
                            token, ledger_index of its dept.register entry (NULL until appended)
    draw_idempotency_keys   (department, Idempotency-Key) -> request fingerprint and, once the first
                            request completed, its stored response (status NULL while in progress);
                            completed ones are pruned after ``Config.idempotency_retention_ms``
    draw_department_keys    one row per key entry of a department (its dept.register, then each
                            dept.key): the vkey (or NULL) in force from that entry on; at most one
                            row per department is pending (a key change under way)
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

departments = sa.Table(
    "draw_departments",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("vkey", sa.Text, nullable=True),
    sa.Column("roles", sa.Text, nullable=False),
    sa.Column("token_hash", sa.LargeBinary, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("token_hash", name="draw_departments_token_hash"),
)

idempotency_keys = sa.Table(
    "draw_idempotency_keys",
    metadata,
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("content_type", sa.Text, nullable=True),
    sa.Column("location", sa.Text, nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Index("draw_idempotency_keys_created", "created_ms"),
)

department_keys = sa.Table(
    "draw_department_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("vkey", sa.Text, nullable=True),
    sa.Column("supersedes", sa.BigInteger, nullable=True),  # NULL for the dept.register entry
    sa.Column("ledger_index", sa.BigInteger, nullable=True),  # NULL while pending
    sa.Column("ledger_size", sa.BigInteger, nullable=False),  # the ledger's size before the append
    sa.Column("pending", sa.Boolean, nullable=True),  # true while pending, else NULL: one per department
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ledger_index", name="draw_department_keys_ledger_index"),
    sa.UniqueConstraint("department", "pending", name="draw_department_keys_pending"),
    sa.Index("draw_department_keys_department", "department", "ledger_index"),
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = 0x66647276  # "fdrv": serializes concurrent migrations on PostgreSQL


def migrate(engine: Engine) -> None:
    """Bring the service's tables to the newest migration. Idempotent.

    Runs in one transaction; on PostgreSQL it first takes a transaction-level advisory lock, so
    processes starting together migrate one after another (SQLite's ``BEGIN IMMEDIATE`` engines
    serialize anyway).
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
