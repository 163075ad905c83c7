"""collections: replies of units to deadline collections ([[collections]])

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:13:43.904561

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('collection_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection', sa.String(length=60), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('message_row_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_row_id'], ['messages.id'], name=op.f('fk_collection_replies_message_row_id_messages')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_collection_replies_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_replies')),
    sa.UniqueConstraint('collection', 'message_row_id', name='uq_collection_replies_message')
    )
    with op.batch_alter_table('collection_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_replies_collection'), ['collection'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_replies_message_row_id'), ['message_row_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_replies_unit_id'), ['unit_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('collection_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_replies_unit_id'))
        batch_op.drop_index(batch_op.f('ix_collection_replies_message_row_id'))
        batch_op.drop_index(batch_op.f('ix_collection_replies_collection'))

    op.drop_table('collection_replies')
