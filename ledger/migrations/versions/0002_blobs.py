"""The content-addressed blob store (ledger.blobs).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_blobs",
        sa.Column("digest", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=True),
        sa.Column("erased", sa.Text, nullable=True),
        sa.CheckConstraint("(data IS NULL) = (erased IS NOT NULL)", name="ledger_blobs_erased_xor_data"),
    )
