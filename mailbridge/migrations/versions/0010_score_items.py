"""score entries: clerk-recorded score items, ratings and vetoes (seed 003), in the decisions' audit trail

Revision ID: 0010_score_items
Revises: 0009_check_constraints
Create Date: 2026-12-01 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010_score_items'
down_revision: Union[str, Sequence[str], None] = '0009_check_constraints'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('score_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('effect', sa.String(length=10), nullable=True),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('evidence_name', sa.String(length=255), nullable=True),
    sa.Column('receipt_no', sa.String(length=40), nullable=True),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_score_entries_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_entries'))
    )
    with op.batch_alter_table('score_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_entries_on'), ['on'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_entries_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score_entry_id', sa.Integer(), nullable=True))
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_decisions_score_entry_id'), ['score_entry_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_decisions_score_entry_id_score_entries'), 'score_entries',
                                    ['score_entry_id'], ['id'])


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM decisions WHERE submission_id IS NULL")
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_decisions_score_entry_id_score_entries'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_decisions_score_entry_id'))
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('score_entry_id')

    with op.batch_alter_table('score_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_entries_unit_id'))
        batch_op.drop_index(batch_op.f('ix_score_entries_on'))

    op.drop_table('score_entries')
