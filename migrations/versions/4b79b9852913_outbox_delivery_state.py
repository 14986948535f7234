"""Outbox delivery state: attempts, schedule, lease, last error, given up.

E-mails queued before this revision and not sent yet become due at once
(``next_attempt_at`` = ``created_at``); sent ones keep ``next_attempt_at`` NULL.

Revision ID: 4b79b9852913
Revises: 891ac48b632d
Create Date: 2026-11-24 12:10:34.455729

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b79b9852913'
down_revision = '891ac48b632d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_email_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.execute(
        "UPDATE outbox_email SET next_attempt_at = created_at "
        "WHERE sent_at IS NULL AND next_attempt_at IS NULL"
    )


def downgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_email_next_attempt_at'))
        batch_op.drop_column('failed_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
