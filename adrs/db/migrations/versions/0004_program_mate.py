"""Record a crossover's second parent in a column (program.mate_id), not only in its note.

Existing rows are filled from the note the driver has always written first in a crossover's note
(``crossover with program #N``), when program N belongs to the same run. Not indexed: nothing
selects programs by their mate.

On SQLite the column is added in place (``ALTER TABLE ... ADD COLUMN ... REFERENCES``, which
SQLite allows for a column whose default is NULL): batch mode would copy every program row, and
its DROP TABLE fails under the ``PRAGMA foreign_keys=ON`` the driver's connections set.

Revision ID: 0004_program_mate
Revises: 0003_evaluation_node
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0004_program_mate"
down_revision = "0003_evaluation_node"
branch_labels = None
depends_on = None

NOTE = re.compile(r"crossover with program #(\d+)")  # frozen: what adrs.outcome wrote until 0004
CHUNK = 500  # ids per IN (...) list


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE program ADD COLUMN mate_id INTEGER REFERENCES program (id)")
    else:
        op.add_column("program", sa.Column("mate_id", sa.Integer, sa.ForeignKey("program.id"),
                                           nullable=True))
    backfill(bind)


def backfill(bind: sa.Connection) -> None:
    """Set mate_id of every crossover row from its note (only to a program of the same run)."""
    program = sa.table("program", sa.column("id", sa.Integer), sa.column("run_id", sa.String),
                       sa.column("note", sa.Text), sa.column("mate_id", sa.Integer))
    named: dict[int, tuple[str, int]] = {}  # program id -> (its run, the mate its note names)
    crossovers = sa.select(program.c.id, program.c.run_id, program.c.note) \
        .where(program.c.note.like("crossover with program #%"))
    for program_id, run_id, note in bind.execute(crossovers):
        found = NOTE.match(note)
        if found:
            named[program_id] = (run_id, int(found.group(1)))
    mates = sorted({mate for _, mate in named.values()})
    run_of: dict[int, str] = {}
    for start in range(0, len(mates), CHUNK):
        query = sa.select(program.c.id, program.c.run_id) \
            .where(program.c.id.in_(mates[start:start + CHUNK]))
        run_of.update((mate, run_id) for mate, run_id in bind.execute(query))
    updates = [{"pid": program_id, "mid": mate} for program_id, (run_id, mate) in sorted(named.items())
               if run_of.get(mate) == run_id]
    if updates:
        bind.execute(sa.update(program).where(program.c.id == sa.bindparam("pid"))
                     .values(mate_id=sa.bindparam("mid")), updates)


def downgrade() -> None:
    with op.batch_alter_table("program") as batch:  # SQLite: run it without PRAGMA foreign_keys
        batch.drop_column("mate_id")
