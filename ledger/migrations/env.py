"""Alembic environment for the ledger schema; run through ledger.store.migrate with a live connection."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table="ledger_alembic_version", render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
