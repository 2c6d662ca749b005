"""Hot reads below SQLAlchemy's Connection layer: one SELECT, compiled once, run on the driver.

A public endpoint that answers every request with one small query (the newest checkpoint, a draw's
status) spends most of its time in SQLAlchemy's Connection and Result machinery, not in the query.
:class:`RawSelect` keeps SQLAlchemy Core as the one place where SQL is written and compiled (per
dialect, once), and runs the compiled statement straight on a pooled DBAPI connection of the
engine: on SQLite in autocommit, so the statement is its own snapshot; on PostgreSQL switched to
autocommit for the statement, one round trip instead of BEGIN, SELECT, ROLLBACK. (An async
psycopg connection per event loop was measured too: with two workers on two cores it served no
more requests, so the one read path is this synchronous one.)

A statement must not use expanding parameters (``in_``). Rows are named tuples with the statement's
column keys and the driver's values, but for Boolean columns (integers on SQLite), which become
bool. Errors are sqlalchemy's DBAPIError wrapping the driver's, as a Connection would raise.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine


class RawSelect:
    """One SELECT ``statement``, compiled once per dialect and run on a driver connection."""

    def __init__(self, statement: sa.Select[Any]) -> None:
        self._statement = statement
        columns = statement.selected_columns
        self._row: Any = collections.namedtuple("Row", list(columns.keys()))  # type: ignore[misc]
        self._booleans = [i for i, c in enumerate(columns) if isinstance(c.type, sa.Boolean)]
        self._compiled: dict[str, Any] = {}

    def all(self, engine: Engine, **params: Any) -> list[Any]:
        """Return every row the statement selects with bind ``params``. Blocks for one round trip."""
        dialect = engine.dialect
        sql, args = self._bound(dialect, params)
        with engine.raw_connection() as dbapi_conn:
            autocommit = dialect.name == "postgresql"
            if autocommit:
                dbapi_conn.driver_connection.autocommit = True  # type: ignore[union-attr]
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(sql, args)
                rows = cursor.fetchall()
            except dialect.loaded_dbapi.Error as exc:
                raise _wrapped(dialect, sql, args, exc) from exc
            finally:
                cursor.close()
                if autocommit:
                    dbapi_conn.driver_connection.autocommit = False  # type: ignore[union-attr]
        return self._rows(rows)

    def first(self, engine: Engine, **params: Any) -> Any:
        """Return the first row the statement selects with bind ``params``, or None."""
        rows = self.all(engine, **params)
        return rows[0] if rows else None

    def _bound(self, dialect: Dialect, params: dict[str, Any]) -> tuple[str, Any]:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled.setdefault(dialect.name, self._statement.compile(dialect=dialect))
        values = compiled.construct_params(params)
        args = [values[name] for name in compiled.positiontup] if compiled.positional else values
        return compiled.string, args

    def _rows(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        if self._booleans:
            rows = [_booleans(row, self._booleans) for row in rows]
        return [self._row._make(row) for row in rows]


def _booleans(row: Sequence[Any], columns: list[int]) -> list[Any]:
    out = list(row)
    for i in columns:
        out[i] = None if out[i] is None else bool(out[i])
    return out


def _wrapped(dialect: Dialect, sql: str, args: Any, exc: Exception) -> sa.exc.StatementError:
    return sa.exc.DBAPIError.instance(sql, args, exc, dialect.loaded_dbapi.Error, dialect=dialect)
