"""live final: teams, segments, event log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 02:43:30.658000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('live_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_live_event_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_live_event_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_event')),
    sa.UniqueConstraint('round_id', 'seq', name=op.f('uq_live_event_round_id'))
    )
    op.create_table('live_segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('required', 'choice', 'buzz', 'risk', 'all', 'tiebreak', name='segmentkind', native_enum=False, length=20), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('deduction', sa.Integer(), nullable=False),
    sa.Column('time_limit_s', sa.Integer(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_live_segment_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_segment'))
    )
    with op.batch_alter_table('live_segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_segment_round_id'), ['round_id'], unique=False)

    op.create_table('live_team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_live_team_organization_id_organization'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_live_team_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_team')),
    sa.UniqueConstraint('round_id', 'name', name=op.f('uq_live_team_round_id'))
    )
    with op.batch_alter_table('live_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_team_round_id'), ['round_id'], unique=False)

    op.create_table('live_team_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('captain', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['live_team.id'], name=op.f('fk_live_team_member_team_id_live_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_live_team_member_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_team_member')),
    sa.UniqueConstraint('team_id', 'user_id', name=op.f('uq_live_team_member_team_id'))
    )
    with op.batch_alter_table('live_team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_team_member_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live', sa.JSON(), nullable=True))



def downgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('live')

    with op.batch_alter_table('live_team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_team_member_user_id'))

    op.drop_table('live_team_member')
    with op.batch_alter_table('live_team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_team_round_id'))

    op.drop_table('live_team')
    with op.batch_alter_table('live_segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_segment_round_id'))

    op.drop_table('live_segment')
    op.drop_table('live_event')
