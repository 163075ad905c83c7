"""indexes that fit the per-message queries (issue 15)

Revision ID: 0011_indexes
Revises: 0010_score_items
Create Date: 2026-12-01 11:45:00

- outbox (kind, created_at) replaces (kind): the receipt caps read one kind over the last day;
  with only `kind` indexed, SQLite without statistics read every receipt ever queued.
- submissions (unit_id, month) replaces (unit_id): the receipt's monthly count and the
  resubmission check's window, at every accepted mail.
- outbox (status, next_attempt_at) WHERE waiting: the sender's next mail among all ever sent.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_indexes'
down_revision: str | Sequence[str] | None = '0010_score_items'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_kind_created_at', 'outbox', ['kind', 'created_at'], unique=False)
    op.drop_index('ix_outbox_kind', table_name='outbox')
    op.create_index('ix_submissions_unit_id_month', 'submissions', ['unit_id', 'month'], unique=False)
    op.drop_index('ix_submissions_unit_id', table_name='submissions')
    waiting = sa.text("status IN ('pending', 'sending')")
    op.create_index('ix_outbox_waiting', 'outbox', ['status', 'next_attempt_at'], unique=False,
                    sqlite_where=waiting, postgresql_where=waiting)


def downgrade() -> None:
    op.drop_index('ix_outbox_waiting', table_name='outbox')
    op.create_index('ix_submissions_unit_id', 'submissions', ['unit_id'], unique=False)
    op.drop_index('ix_submissions_unit_id_month', table_name='submissions')
    op.create_index('ix_outbox_kind', 'outbox', ['kind'], unique=False)
    op.drop_index('ix_outbox_kind_created_at', table_name='outbox')
