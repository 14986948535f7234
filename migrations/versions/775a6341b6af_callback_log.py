"""The notification log: one row per inbound server callback, rejected ones included
(time, source address, authentication result, purchase id, answer, latency).

Revision ID: 775a6341b6af
Revises: d7a4c2e91b60
Create Date: 2026-12-01 20:34:10.876188

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '775a6341b6af'
down_revision = 'd7a4c2e91b60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('callback_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('auth', sa.String(length=16), nullable=False),
    sa.Column('auth_scheme', sa.String(length=16), nullable=True),
    sa.Column('purchase_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.CheckConstraint("auth IN ('ok', 'missing', 'refused')", name=op.f('ck_callback_log_auth_valid')),
    sa.CheckConstraint('latency_ms >= 0', name=op.f('ck_callback_log_latency_not_negative')),
    sa.CheckConstraint('status >= 100 AND status <= 599', name=op.f('ck_callback_log_status_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_log'))
    )
    with op.batch_alter_table('callback_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_log_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_log_purchase_id'), ['purchase_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_log_received_at'), ['received_at'], unique=False)



def downgrade():
    with op.batch_alter_table('callback_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_log_received_at'))
        batch_op.drop_index(batch_op.f('ix_callback_log_purchase_id'))
        batch_op.drop_index(batch_op.f('ix_callback_log_outcome'))

    op.drop_table('callback_log')
