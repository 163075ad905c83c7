"""review tokens: one hashed token per digest recipient instead of one shared token per digest;
an index of each sender's mail by arrival, for the per-sender daily cap

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000

The shared tokens of earlier digests are dropped (the database must hold no usable token), so
replies to those digests no longer count; their undecided submissions are freed to be listed
again, with per-recipient tokens, in the next digest.
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('review_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], name=op.f('fk_review_tokens_digest_id_digests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_review_tokens_token_hash'))
    )
    with op.batch_alter_table('review_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_tokens_digest_id'), ['digest_id'], unique=False)

    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_digests_token'), type_='unique')
        batch_op.drop_column('token')

    op.execute("UPDATE submissions SET digest_id = NULL WHERE review_status IN ('pending', 'reviewed')")
    op.create_index('ix_messages_sender_received_at', 'messages', ['sender', 'received_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_messages_sender_received_at', table_name='messages')
    # The old column needs a unique token per digest: fresh random ones, which no reviewer holds.
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token', sa.String(length=40), nullable=True))
    conn = op.get_bind()
    for (digest_id,) in conn.execute(sa.text("SELECT id FROM digests")).all():
        conn.execute(sa.text("UPDATE digests SET token = :token WHERE id = :id"),
                     {"token": "MB-" + secrets.token_hex(5).upper(), "id": digest_id})
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_digests_token'), ['token'])

    with op.batch_alter_table('review_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_tokens_digest_id'))

    op.drop_table('review_tokens')
