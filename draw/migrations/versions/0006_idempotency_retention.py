"""An index for pruning completed Idempotency-Keys by age (Config.idempotency_retention_ms).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("draw_idempotency_keys_created", "draw_idempotency_keys", ["created_ms"])
