"""Sign-in throttling (failed sign-ins per account and address, in the database so that
the limit holds across workers), admin session versions (signing out ends every
session), and repeated browser returns counted on one order event.

Revision ID: 5e2b8c41d9a7
Revises: e5b1c9d3a7f4
Create Date: 2026-12-01 21:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2b8c41d9a7'
down_revision = 'e5b1c9d3a7f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_key_at', ['key', 'at'], unique=False)

    with op.batch_alter_table('admin_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeats', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.drop_column('repeats')

    with op.batch_alter_table('admin_user', schema=None) as batch_op:
        batch_op.drop_column('session_version')

    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_key_at')

    op.drop_table('login_failure')
