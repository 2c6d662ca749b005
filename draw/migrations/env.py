"""Alembic environment for the draw service's tables; run through draw.service.db.migrate with a live
connection."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table="draw_alembic_version", render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
