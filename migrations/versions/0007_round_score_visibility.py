"""round score visibility

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rounds keep showing the score after each submission, as they did.
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'score_visibility',
                sa.Enum('after_submit', 'after_close', name='scorevisibility', native_enum=False, length=20),
                nullable=False,
                server_default='after_submit',
            )
        )


def downgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('score_visibility')
