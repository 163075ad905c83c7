"""vocabularies: CHECK constraints hold the state and status columns to their values (ledger/vocab.py)

Revision ID: 0009_check_constraints
Revises: 0008
Create Date: 2026-12-01 11:50:00

The values are written out here, not imported from ledger/vocab.py: a migration is a fixed step,
and a value added to a vocabulary later needs its own migration that widens the CHECK. SQLite
cannot add a constraint to a table, so batch mode rebuilds each table (migrations/env.py sets
render_as_batch; ledger/db.py turns foreign keys off around the rebuild).
"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0009_check_constraints'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CHECKS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    'messages': {
        'ck_messages_state': ('state', ('archived', 'processed')),
        'ck_messages_disposition': ('disposition', ('submission', 'reply', 'collection', 'duplicate', 'quarantined',
                                                    'bounce', 'auto_reply', 'ignored')),
    },
    'submissions': {
        'ck_submissions_status': ('status', ('received', 'superseded', 'awaiting_file')),
        'ck_submissions_review_status': ('review_status', ('pending', 'reviewed', 'approved', 'adopted', 'rejected')),
    },
    'outbox': {
        'ck_outbox_status': ('status', ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    },
}


def upgrade() -> None:
    """Upgrade schema."""
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, (column, values) in checks.items():
                batch_op.create_check_constraint(name, f"{column} IN ({', '.join(repr(v) for v in values)})")


def downgrade() -> None:
    """Downgrade schema."""
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in checks:
                batch_op.drop_constraint(name, type_='check')
