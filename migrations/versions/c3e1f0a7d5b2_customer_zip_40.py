"""Widen order.customer_zip to 40 characters, Avarda's limit for InvoicingZip.

Every other customer column is already at least as wide as Avarda's limit (Mail 60,
Phone 15, Invoicing* 40). The downgrade cuts longer postal codes to 20 characters.

Revision ID: c3e1f0a7d5b2
Revises: 4b79b9852913
Create Date: 2026-11-24 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e1f0a7d5b2'
down_revision = '4b79b9852913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.alter_column('customer_zip',
               existing_type=sa.String(length=20),
               type_=sa.String(length=40),
               existing_nullable=True)


def downgrade():
    op.execute(
        'UPDATE "order" SET customer_zip = substr(customer_zip, 1, 20) '
        'WHERE length(customer_zip) > 20'
    )
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.alter_column('customer_zip',
               existing_type=sa.String(length=40),
               type_=sa.String(length=20),
               existing_nullable=True)
