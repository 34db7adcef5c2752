"""tick_claim: one row per claim of a tick (worker, shop-lease epoch, when, how it ended)

Revision ID: 7836da6d99ee
Revises: 5e55a1c0ffee
Create Date: 2026-11-30 02:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7836da6d99ee"
down_revision: str | None = "5e55a1c0ffee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tick_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tick_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tick", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("lease_epoch", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tick_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tick_claim_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tick_claim_tick_id"), ["tick_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tick_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tick_claim_tick_id"))
        batch_op.drop_index(batch_op.f("ix_tick_claim_shop_id"))
    op.drop_table("tick_claim")
