"""Keep what Avarda says: the delivery address apart from the invoicing one, an answer the
shop could not act on, the cart sent while a payment may be under way, and which order
replaced a pending one.

Adds to ``order``: ``delivery_*`` (null when Avarda reports no separate delivery
address), ``avarda_problem`` (a State or PaymentMethod the shop does not know, or
Avarda refusing to report the purchase: the order needs a person), ``cart_in_flight``
(the cart of an UpdateItems whose outcome is not known yet, JSON) and
``replaced_by_number`` (the order a customer's changed cart moved to). All null for
existing rows; the downgrade drops them.

Revision ID: e5b1c9d3a7f4
Revises: 775a6341b6af
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b1c9d3a7f4'
down_revision = '775a6341b6af'
branch_labels = None
depends_on = None

COLUMNS = (
    ('delivery_first_name', sa.String(length=80)),
    ('delivery_last_name', sa.String(length=80)),
    ('delivery_address_line1', sa.String(length=120)),
    ('delivery_address_line2', sa.String(length=120)),
    ('delivery_zip', sa.String(length=40)),
    ('delivery_city', sa.String(length=80)),
    ('avarda_problem', sa.Text()),
    ('cart_in_flight', sa.JSON()),
    ('replaced_by_number', sa.String(length=32)),
)


def upgrade():
    # Plain ADD COLUMN on every database (no table copy on SQLite: no constraint changes).
    for name, type_ in COLUMNS:
        op.add_column('order', sa.Column(name, type_, nullable=True))


def downgrade():
    with op.batch_alter_table('order', schema=None) as batch_op:
        for name, _type in reversed(COLUMNS):
            batch_op.drop_column(name)
