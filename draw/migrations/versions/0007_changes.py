"""The change signal (ledger.changes) on PostgreSQL for the tables a draw's public status is read from.

A statement trigger on draw_draws and draw_draw_entries notifies channel fairdraw_changes; the
notification is delivered when the writing transaction commits. SQLite needs nothing.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WATCHED = ("draw_draws", "draw_draw_entries")
PG_FUNCTION = """
CREATE FUNCTION draw_changed() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_notify('fairdraw_changes', ''); RETURN NULL; END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION draw_changed()"
            )
