"""product row versions: product.row_version and the product_revision history

Exports carry each product's row_version; an import merges the file against the product as it
was at that version (product_revision) so it never undoes sales or edits made since the export.

Revision ID: c477ec62a686
Revises: 6f9452c575cf
Create Date: 2026-11-30 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c477ec62a686"
down_revision: str | None = "6f9452c575cf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_version", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "product_revision",
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sku", "version"),
    )
    with op.batch_alter_table("product_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_revision_recorded_at"), ["recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("product_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_revision_recorded_at"))
    op.drop_table("product_revision")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("row_version")
