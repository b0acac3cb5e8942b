"""Baseline: the lineage schema as adrs created it before Alembic (commit 6a46c29).

A new database gets these tables. A database made by an earlier adrs (no ``alembic_version``
table) keeps its rows: missing tables are created and columns that later pre-Alembic versions
added (e.g. the llm_call accounting columns) are added with their defaults.
The tables are written out here, frozen: later changes to adrs/db/models.py must not change them.

Revision ID: 0001_baseline
Revises:
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def baseline_tables() -> sa.MetaData:
    meta = sa.MetaData()
    sa.Table(
        "run", meta,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("problem", sa.String(200), nullable=False),
        sa.Column("problem_root", sa.Text, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("objective", sa.String(200), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("proposer", sa.String(200), nullable=False),
        sa.Column("isolation", sa.Text, nullable=False, default=""),
        sa.Column("status", sa.String(20), nullable=False, default="running"),
        sa.Column("stop_reason", sa.Text, nullable=False, default=""),
        sa.Column("elapsed_s", sa.Double, nullable=False, default=0.0),
        sa.Column("created_at", sa.DateTime, nullable=False, default=_now),
        sa.Column("updated_at", sa.DateTime, nullable=False, default=_now),
    )
    sa.Table(
        "program", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("run.id"), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("program.id"), index=True),
        sa.Column("island", sa.Integer, nullable=False, default=0),
        sa.Column("generation", sa.Integer, nullable=False, default=0),
        sa.Column("kind", sa.String(20), nullable=False, default="seed"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("diff", sa.Text, nullable=False, default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Double),
        sa.Column("metrics", sa.JSON, nullable=False, default=dict),
        sa.Column("private_metrics", sa.JSON, nullable=False, default=dict),
        sa.Column("feedback", sa.Text, nullable=False, default=""),
        sa.Column("proposer", sa.String(200), nullable=False, default=""),
        sa.Column("model", sa.String(200)),
        sa.Column("note", sa.Text, nullable=False, default=""),
        sa.Column("prompt", sa.Text, nullable=False, default=""),
        sa.Column("propose_s", sa.Double, nullable=False, default=0.0),
        sa.Column("eval_s", sa.Double, nullable=False, default=0.0),
        sa.Column("runtime_s", sa.Double, nullable=False, default=0.0),
        sa.Column("created_at", sa.DateTime, nullable=False, default=_now),
        sa.UniqueConstraint("run_id", "seq"),
    )
    sa.Table(
        "evaluation", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("run.id"), nullable=False, index=True),
        sa.Column("program_id", sa.Integer, sa.ForeignKey("program.id")),
        sa.Column("baseline", sa.String(200)),
        sa.Column("split", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Double),
        sa.Column("metrics", sa.JSON, nullable=False, default=dict),
        sa.Column("feedback", sa.Text, nullable=False, default=""),
        sa.Column("runtime_s", sa.Double, nullable=False, default=0.0),
        sa.Column("created_at", sa.DateTime, nullable=False, default=_now),
    )
    sa.Table(
        "llm_call", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("run.id"), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False, default=0),
        sa.Column("completion_tokens", sa.Integer, nullable=False, default=0),
        sa.Column("cost_usd", sa.Double, nullable=False, default=0.0),
        sa.Column("latency_s", sa.Double, nullable=False, default=0.0),
        sa.Column("error", sa.Text, nullable=False, default=""),
        sa.Column("kind", sa.String(20), nullable=False, default=""),
        sa.Column("choice", sa.Text, nullable=False, default=""),
        sa.Column("finish_reason", sa.String(40), nullable=False, default=""),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("cached", sa.Boolean, nullable=False, default=False),
        sa.Column("created_at", sa.DateTime, nullable=False, default=_now),
    )
    return meta


def _literal(value: object) -> str | None:
    """A SQL literal for a scalar column default (None when there is no constant to use)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    return None


def upgrade() -> None:
    bind = op.get_bind()
    meta = baseline_tables()
    existing = set(sa.inspect(bind).get_table_names())
    meta.create_all(bind, checkfirst=True)
    for table in meta.sorted_tables:
        if table.name not in existing:
            continue
        present = {c["name"] for c in sa.inspect(bind).get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            default = _literal(column.default.arg) if column.default is not None else None
            if default is None and not column.nullable:
                raise RuntimeError(f"cannot add column {table.name}.{column.name} to an old "
                                   f"database: no default to fill existing rows with")
            if isinstance(column.type, sa.Boolean) and default is not None:
                default = sa.text("true" if default == "1" else "false")
            op.add_column(table.name, sa.Column(column.name, column.type, nullable=column.nullable,
                                                server_default=default))


def downgrade() -> None:
    baseline_tables().drop_all(op.get_bind())
