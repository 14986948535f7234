"""Sweepers on several hosts split the work: a pending order claimed by one sweeper's
pass is left alone by the others until its lease ends.

Revision ID: 8c3d5e7f9a1b
Revises: 5e2b8c41d9a7
Create Date: 2026-12-01 22:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c3d5e7f9a1b'
down_revision = '5e2b8c41d9a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sweep_claimed_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_column('sweep_claimed_until')
