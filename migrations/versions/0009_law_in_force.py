"""law versions know when they take effect

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Versions imported before keep no in-force date: they count from their adoption date until an
    # organizer sets one or the file is imported again.
    with op.batch_alter_table('law_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_force', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('in_force_source', sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column('review_flagged', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Questions were flagged when each version was imported until now: that is done.
    op.execute("UPDATE law_version SET review_flagged = true")


def downgrade():
    with op.batch_alter_table('law_version', schema=None) as batch_op:
        batch_op.drop_column('review_flagged')
        batch_op.drop_column('in_force_source')
        batch_op.drop_column('in_force')
