"""The indexes of the browsing queries (ix_program_outline, ix_program_best), added shortly before
Alembic: databases made between the baseline and this revision may already have them.

Revision ID: 0002_browse_indexes
Revises: 0001_baseline
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_browse_indexes"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_program_outline": ["run_id", "parent_id", "status", "score", "seq", "island", "created_at"],
    "ix_program_best": ["run_id", "status", "score", "seq"],
}


def upgrade() -> None:
    present = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("program")}
    for name, columns in INDEXES.items():
        if name not in present:
            op.create_index(name, "program", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="program")
