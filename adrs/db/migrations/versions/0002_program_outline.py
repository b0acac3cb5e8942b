"""The covering index of the browsing queries (ix_program_outline), added shortly before Alembic:
databases made between the baseline and this revision already have it.

Revision ID: 0002_program_outline
Revises: 0001_baseline
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_program_outline"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

COLUMNS = ["run_id", "parent_id", "status", "score", "seq", "island", "created_at"]


def upgrade() -> None:
    present = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("program")}
    if "ix_program_outline" not in present:
        op.create_index("ix_program_outline", "program", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_program_outline", table_name="program")
