"""Record the Ray node that evaluated each program and each extra evaluation.

Revision ID: 0003_evaluation_node
Revises: 0002_browse_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_evaluation_node"
down_revision = "0002_browse_indexes"
branch_labels = None
depends_on = None

TABLES = ("program", "evaluation")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("node", sa.String(200), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("node")
