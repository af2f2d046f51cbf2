"""a sensitive period of one township (none: the whole county)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sensitive_periods') as batch:
        batch.add_column(sa.Column('township_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_sensitive_periods_township_id_units', 'units', ['township_id'], ['id'])
        batch.create_index('ix_sensitive_periods_township_id', ['township_id'])


def downgrade() -> None:
    with op.batch_alter_table('sensitive_periods') as batch:
        batch.drop_index('ix_sensitive_periods_township_id')
        batch.drop_constraint('fk_sensitive_periods_township_id_units', type_='foreignkey')
        batch.drop_column('township_id')
