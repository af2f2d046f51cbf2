"""the index filing looks for duplicates through

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_duplicates', 'cases', ['township_id', 'village_id', 'category', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_duplicates', table_name='cases')
