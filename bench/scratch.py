"""Scratch databases for the benchmarks: a fresh SQLite file or PostgreSQL database each time.

    with Scratch(workdir, "fairdraw_bench") as scratch:
        url = scratch.url("postgres")   # CREATE DATABASE fairdraw_bench_<ns>
    # every PostgreSQL database made here is dropped on leaving the block

The PostgreSQL server is ``$BENCH_POSTGRES`` (default: the local server's ``test`` database, used
only to create and drop the scratch databases).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa


class Scratch:
    """Fresh databases under ``workdir`` (SQLite) or on the server (PostgreSQL), named ``prefix_<ns>``."""

    def __init__(self, workdir: Path, prefix: str) -> None:
        self.workdir = workdir
        self.prefix = prefix
        self.created: list[str] = []

    def url(self, backend: str) -> str:
        """Return the URL of a new, empty database on ``backend`` (``sqlite`` or ``postgres``)."""
        name = f"{self.prefix}_{time.time_ns()}"
        if backend == "sqlite":
            return f"sqlite:///{self.workdir / (name + '.sqlite')}"
        admin = _admin()
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return str(admin.url.set(database=name).render_as_string(hide_password=False))

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.created:
            with _admin().connect() as conn:
                for name in self.created:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.created.clear()


def _admin() -> sa.Engine:
    url = os.environ.get("BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1/test")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")
