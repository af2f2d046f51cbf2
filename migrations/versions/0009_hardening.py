"""hardening: outbox claim owner, job retries, failed binds by time, callback nonces

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import models.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('bind_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bind_failures_at'), ['at'], unique=False)
    op.create_table('callback_nonces',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('body_digest', sa.String(length=64), nullable=False),
    sa.Column('seen_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'key')
    )
    with op.batch_alter_table('callback_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_nonces_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callback_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_nonces_seen_at'))
    op.drop_table('callback_nonces')
    with op.batch_alter_table('bind_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bind_failures_at'))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('attempts')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
