"""console login states

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_login_states',
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('next_path', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state')
    )
    with op.batch_alter_table('console_login_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_login_states_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_login_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_login_states_expires_at'))
    op.drop_table('console_login_states')
