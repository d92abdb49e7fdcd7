"""contests rounds attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:29:03.564369

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('schedule', sa.Text(), nullable=False),
    sa.Column('registration_mode', sa.Enum('open', 'invite', 'roster', name='registrationmode', native_enum=False, length=20), nullable=False),
    sa.Column('invite_code', sa.String(length=64), nullable=True),
    sa.Column('board_visibility', sa.Enum('public', 'organizers', name='boardvisibility', native_enum=False, length=20), nullable=False),
    sa.Column('mask_names', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contest'))
    )
    op.create_table('contest_organization',
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_contest_organization_contest_id_contest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_contest_organization_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contest_id', 'organization_id', name=op.f('pk_contest_organization'))
    )
    op.create_table('round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=False),
    sa.Column('attempts_allowed', sa.Integer(), nullable=False),
    sa.Column('score_policy', sa.Enum('best', 'last', name='scorepolicy', native_enum=False, length=20), nullable=False),
    sa.Column('blueprint', sa.JSON(), nullable=False),
    sa.Column('shuffle_questions', sa.Boolean(), nullable=False),
    sa.Column('shuffle_options', sa.Boolean(), nullable=False),
    sa.Column('multiple_rule', sa.String(length=20), nullable=False),
    sa.Column('review_policy', sa.Enum('after_submit', 'after_close', 'never', name='reviewpolicy', native_enum=False, length=20), nullable=False),
    sa.Column('integrity_threshold', sa.Integer(), nullable=False),
    sa.Column('integrity_action', sa.Enum('warn', 'submit', 'void', name='integrityaction', native_enum=False, length=20), nullable=False),
    sa.Column('focus_grace_s', sa.Integer(), nullable=False),
    sa.Column('grace_s', sa.Integer(), nullable=False),
    sa.Column('qualification', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['bank_id'], ['bank.id'], name=op.f('fk_round_bank_id_bank')),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_round_contest_id_contest'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round')),
    sa.UniqueConstraint('contest_id', 'position', name=op.f('uq_round_contest_id'))
    )
    op.create_table('attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('in_progress', 'submitted', 'scored', 'void', name='attemptstatus', native_enum=False, length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by', sa.String(length=20), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('focus_losses', sa.Integer(), nullable=False),
    sa.Column('focus_lost_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('max_score', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('time_used_s', sa.Integer(), nullable=True),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_attempt_round_id_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_attempt_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt')),
    sa.UniqueConstraint('round_id', 'user_id', 'number', name=op.f('uq_attempt_round_id'))
    )
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.create_index('ix_attempt_open_deadline', ['status', 'deadline_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_user_id'), ['user_id'], unique=False)

    op.create_table('registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_registration_contest_id_contest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_registration_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration')),
    sa.UniqueConstraint('contest_id', 'user_id', name=op.f('uq_registration_contest_id'))
    )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_user_id'), ['user_id'], unique=False)

    op.create_table('integrity_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_integrity_event_attempt_id_attempt'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_event'))
    )
    with op.batch_alter_table('integrity_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integrity_event_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('attempt_item',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('question_version_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('option_order', sa.JSON(), nullable=False),
    sa.Column('option_ids', sa.JSON(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('earned', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_item_attempt_id_attempt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_version_id'], ['question_version.id'], name=op.f('fk_attempt_item_question_version_id_question_version')),
    sa.PrimaryKeyConstraint('attempt_id', 'position', name=op.f('pk_attempt_item'))
    )


def downgrade():
    op.drop_table('attempt_item')
    with op.batch_alter_table('integrity_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrity_event_attempt_id'))

    op.drop_table('integrity_event')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_user_id'))

    op.drop_table('registration')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_user_id'))
        batch_op.drop_index(batch_op.f('ix_attempt_round_id'))
        batch_op.drop_index('ix_attempt_open_deadline')

    op.drop_table('attempt')
    op.drop_table('round')
    op.drop_table('contest_organization')
    op.drop_table('contest')
