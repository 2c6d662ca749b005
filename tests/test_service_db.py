"""The service's Alembic migrations build exactly ``draw.service.db.metadata``, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from draw.service import db
from ledger import store


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert [r.revision for r in script.walk_revisions()][-1] == "0001"  # the chain starts at 0001
    return script.get_current_head()


def _only_draw_tables(name: Any, type_: str, _parent_names: Any) -> bool:
    return type_ != "table" or str(name).startswith("draw_")


def test_migrations_match_the_metadata_and_are_idempotent(db_url: str) -> None:
    engine = store.create_engine(db_url)
    try:
        db.migrate(engine)
        db.migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": "draw_alembic_version", "include_name": _only_draw_tables}
            )
            assert compare_metadata(context, db.metadata) == []
            assert context.get_current_revision() == _head()
            tables = set(sa.inspect(conn).get_table_names())
        assert {"draw_departments", "draw_idempotency_keys", "draw_alembic_version"} <= tables
        assert not {t for t in tables if t.startswith("ledger_")}, "service migrations made ledger tables"
    finally:
        engine.dispose()


def test_revision_0005_starts_the_key_history_of_registered_departments(db_url: str) -> None:
    from alembic import command

    engine = store.create_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
            for code, vkey, index in (("HZ", None, 1), ("NB", "nb+00000000+AAAA", 2), ("QZ", None, None)):
                conn.execute(
                    sa.text(
                        "INSERT INTO draw_departments (code, name, vkey, roles, token_hash, ledger_index, "
                        "created_ms) VALUES (:code, :code, :vkey, 'submit', :hash, :index, 5)"
                    ),
                    {"code": code, "vkey": vkey, "hash": code.encode(), "index": index},
                )
        db.migrate(engine)
        table = db.department_keys
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.ledger_index)).all()
        assert [(r.department, r.vkey, r.ledger_index, r.supersedes, r.pending) for r in rows] == [
            ("HZ", None, 1, None, None),
            ("NB", "nb+00000000+AAAA", 2, None, None),
        ]
    finally:
        engine.dispose()
