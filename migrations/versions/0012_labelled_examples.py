"""labelled examples

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('labelled_examples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('decided', sa.JSON(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('labelled_examples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labelled_examples_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_labelled_examples_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('labelled_examples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labelled_examples_case_id'))
        batch_op.drop_index(batch_op.f('ix_labelled_examples_at'))
    op.drop_table('labelled_examples')
