"""confidential reports and the case an outbox message is about

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidential', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key('fk_outbox_case_id_cases', 'cases', ['case_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outbox_case_id_cases', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_case_id'))
        batch_op.drop_column('case_id')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('confidential')
