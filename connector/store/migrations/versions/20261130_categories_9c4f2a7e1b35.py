"""categories: the cached marketplace category tree and required attributes (market_category)

Revision ID: 9c4f2a7e1b35
Revises: 3b7e51c0a9d2
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9c4f2a7e1b35"
down_revision: str | None = "3b7e51c0a9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_category",
        sa.Column("shop_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("category_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("leaf", sa.Boolean(), nullable=False),
        sa.Column("required", sa.JSON(), nullable=True),
        sa.Column("refreshed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "category_id"),
    )


def downgrade() -> None:
    op.drop_table("market_category")
