"""After payment: Commerce actions (deliver, return, refund, close, cancel) and their
amounts, the cancelled state, the "admin" path, and who did what.

Adds ``commerce_action`` (one Commerce call with its TranId and Avarda's answer) and
``commerce_action_line``; delivered/returned/refunded/released money on ``order`` and
delivered/returned quantities on ``order_line`` (all 0 for existing rows); the admin and
the action on ``order_event``. The state, path and confirmed-by checks gain
``cancelled``/``admin``; the downgrade refuses to run while a row uses them (it would
have to invent a state for a cancelled order).

Revision ID: d7a4c2e91b60
Revises: c3e1f0a7d5b2
Create Date: 2026-12-01 20:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a4c2e91b60'
down_revision = 'c3e1f0a7d5b2'
branch_labels = None
depends_on = None

OLD_STATES = "'pending', 'paid', 'on_hold', 'failed'"
NEW_STATES = OLD_STATES + ", 'cancelled'"
OLD_PATHS = "'callback', 'browser', 'sweep'"
NEW_PATHS = OLD_PATHS + ", 'admin'"
AMOUNTS = (
    "delivered_minor >= 0 AND returned_minor >= 0 AND refunded_minor >= 0 "
    "AND released_minor >= 0 AND returned_minor + refunded_minor <= delivered_minor"
)
FULFILMENT = (
    "returned_quantity >= 0 AND returned_quantity <= delivered_quantity "
    "AND delivered_quantity <= quantity"
)


def upgrade():
    op.create_table('commerce_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tran_id', sa.String(length=36), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('tracking_code', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('admin_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('deliver', 'return', 'refund', 'close', 'cancel')", name=op.f('ck_commerce_action_kind_valid')),
    sa.CheckConstraint("status IN ('requested', 'applied', 'refused', 'unknown')", name=op.f('ck_commerce_action_status_valid')),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_commerce_action_amount_not_negative')),
    sa.CheckConstraint('attempts >= 1', name=op.f('ck_commerce_action_attempts_positive')),
    sa.ForeignKeyConstraint(['admin_id'], ['admin_user.id'], name=op.f('fk_commerce_action_admin_id_admin_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_commerce_action_order_id_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commerce_action')),
    sa.UniqueConstraint('form_key', name=op.f('uq_commerce_action_form_key')),
    sa.UniqueConstraint('tran_id', name=op.f('uq_commerce_action_tran_id'))
    )
    with op.batch_alter_table('commerce_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commerce_action_order_id'), ['order_id'], unique=False)

    op.create_table('commerce_action_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('vat_minor', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_commerce_action_line_quantity_positive')),
    sa.ForeignKeyConstraint(['action_id'], ['commerce_action.id'], name=op.f('fk_commerce_action_line_action_id_commerce_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_commerce_action_line_order_line_id_order_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commerce_action_line'))
    )
    with op.batch_alter_table('commerce_action_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commerce_action_line_action_id'), ['action_id'], unique=False)

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_minor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('returned_minor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('refunded_minor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('released_minor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_order_state_valid'), type_='check')
        batch_op.create_check_constraint('state_valid', f"state IN ({NEW_STATES})")
        batch_op.drop_constraint(batch_op.f('ck_order_confirmed_by_valid'), type_='check')
        batch_op.create_check_constraint(
            'confirmed_by_valid', f"confirmed_by IS NULL OR confirmed_by IN ({NEW_PATHS})"
        )
        batch_op.create_check_constraint('amounts_valid', AMOUNTS)

    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admin_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('action_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_order_event_action_id'), ['action_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_order_event_action_id_commerce_action'), 'commerce_action', ['action_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_order_event_admin_id_admin_user'), 'admin_user', ['admin_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_constraint(batch_op.f('ck_order_event_path_valid'), type_='check')
        batch_op.create_check_constraint('path_valid', f"path IN ({NEW_PATHS})")

    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_quantity', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('returned_quantity', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint('fulfilment_valid', FULFILMENT)


def downgrade():
    bind = op.get_bind()
    in_use = bind.execute(sa.text(
        "SELECT (SELECT count(*) FROM \"order\" WHERE state = 'cancelled' "
        "OR confirmed_by = 'admin') + (SELECT count(*) FROM order_event WHERE path = 'admin')"
    )).scalar()
    if in_use:
        raise RuntimeError(
            "cannot downgrade: orders are cancelled or were confirmed by an admin; "
            "the older schema has no such state or path"
        )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_order_line_fulfilment_valid'), type_='check')
        batch_op.drop_column('returned_quantity')
        batch_op.drop_column('delivered_quantity')

    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_order_event_path_valid'), type_='check')
        batch_op.create_check_constraint('path_valid', f"path IN ({OLD_PATHS})")
        batch_op.drop_constraint(batch_op.f('fk_order_event_admin_id_admin_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_order_event_action_id_commerce_action'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_order_event_action_id'))
        batch_op.drop_column('action_id')
        batch_op.drop_column('admin_id')

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_order_amounts_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_order_confirmed_by_valid'), type_='check')
        batch_op.create_check_constraint(
            'confirmed_by_valid', f"confirmed_by IS NULL OR confirmed_by IN ({OLD_PATHS})"
        )
        batch_op.drop_constraint(batch_op.f('ck_order_state_valid'), type_='check')
        batch_op.create_check_constraint('state_valid', f"state IN ({OLD_STATES})")
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('released_minor')
        batch_op.drop_column('refunded_minor')
        batch_op.drop_column('returned_minor')
        batch_op.drop_column('delivered_minor')

    with op.batch_alter_table('commerce_action_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commerce_action_line_action_id'))
    op.drop_table('commerce_action_line')
    with op.batch_alter_table('commerce_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commerce_action_order_id'))
    op.drop_table('commerce_action')
