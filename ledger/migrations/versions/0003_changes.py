"""The change signal (ledger.changes) on PostgreSQL: the head notifies channel fairdraw_changes.

Every append and key rotation updates ledger_head in the transaction that stores its entries and
checkpoint, so a notification at its commit covers the newest checkpoint. SQLite needs nothing.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION ledger_changed() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_notify('fairdraw_changes', ''); RETURN NULL; END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER ledger_head_changed AFTER INSERT OR UPDATE OR DELETE ON ledger_head "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_changed()"
        )
