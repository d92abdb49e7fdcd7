"""board freeze and reveal

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('freeze_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revealed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('revealed_at')
        batch_op.drop_column('freeze_at')
