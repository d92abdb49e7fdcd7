"""question bank and law library

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 01:52:14.403107

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank')),
    sa.UniqueConstraint('name', name=op.f('uq_bank_name'))
    )
    op.create_table('law',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('short_title', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_law')),
    sa.UniqueConstraint('short_title', name=op.f('uq_law_short_title'))
    )
    op.create_table('category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['bank.id'], name=op.f('fk_category_bank_id_bank'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['category.id'], name=op.f('fk_category_parent_id_category'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category')),
    sa.UniqueConstraint('bank_id', 'path', name=op.f('uq_category_bank_id'))
    )
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_category_bank_id'), ['bank_id'], unique=False)

    op.create_table('law_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('law_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=10), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['law_id'], ['law.id'], name=op.f('fk_law_version_law_id_law'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_law_version')),
    sa.UniqueConstraint('law_id', 'version', name=op.f('uq_law_version_law_id'))
    )
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('on_duplicate', sa.String(length=10), nullable=False),
    sa.Column('initial_status', sa.Enum('draft', 'in_review', 'published', 'retired', name='questionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', name='importstatus', native_enum=False, length=20), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bank_id'], ['bank.id'], name=op.f('fk_import_job_bank_id_bank'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_import_job_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_job_bank_id'), ['bank_id'], unique=False)

    op.create_table('law_article',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('law_version_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('chapter', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['law_version_id'], ['law_version.id'], name=op.f('fk_law_article_law_version_id_law_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_law_article')),
    sa.UniqueConstraint('law_version_id', 'number', name=op.f('uq_law_article_law_version_id'))
    )
    op.create_table('question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'in_review', 'published', 'retired', name='questionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('duplicate_hash', sa.String(length=64), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['bank.id'], name=op.f('fk_question_bank_id_bank'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_question_category_id_category'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['current_version_id'], ['question_version.id'], name='fk_question_current_version', use_alter=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question'))
    )
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_index('ix_question_bank_status', ['bank_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_question_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_question_duplicate_hash'), ['duplicate_hash'], unique=False)

    op.create_table('question_status_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.Enum('draft', 'in_review', 'published', 'retired', name='questionstatus', native_enum=False, length=20), nullable=True),
    sa.Column('to_status', sa.Enum('draft', 'in_review', 'published', 'retired', name='questionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['user_account.id'], name=op.f('fk_question_status_change_changed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_question_status_change_question_id_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_status_change'))
    )
    with op.batch_alter_table('question_status_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_status_change_question_id'), ['question_id'], unique=False)

    op.create_table('question_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('single', 'multiple', 'true_false', 'fill_blank', 'ordering', name='questiontype', native_enum=False, length=20), nullable=False),
    sa.Column('stem', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('difficulty', sa.Enum('easy', 'medium', 'hard', name='difficulty', native_enum=False, length=20), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('tags_text', sa.Text(), nullable=False),
    sa.Column('citation_law', sa.String(length=120), nullable=True),
    sa.Column('citation_version', sa.String(length=10), nullable=True),
    sa.Column('citation_article', sa.Integer(), nullable=True),
    sa.Column('citation_quote', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_question_version_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_question_version_question_id_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_version')),
    sa.UniqueConstraint('question_id', 'number', name=op.f('uq_question_version_question_id'))
    )
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_version_citation_law'), ['citation_law'], unique=False)
        batch_op.create_index('ix_question_version_filters', ['type', 'difficulty'], unique=False)

    # question.current_version_id and question_version.question_id point at each other, so the
    # first of the two foreign keys is added once both tables exist (SQLite declares it inline).
    if op.get_bind().dialect.name != 'sqlite':
        op.create_foreign_key('fk_question_current_version', 'question', 'question_version',
                              ['current_version_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_question_current_version', 'question', type_='foreignkey')
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.drop_index('ix_question_version_filters')
        batch_op.drop_index(batch_op.f('ix_question_version_citation_law'))

    op.drop_table('question_version')
    with op.batch_alter_table('question_status_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_status_change_question_id'))

    op.drop_table('question_status_change')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_duplicate_hash'))
        batch_op.drop_index(batch_op.f('ix_question_category_id'))
        batch_op.drop_index('ix_question_bank_status')

    op.drop_table('question')
    op.drop_table('law_article')
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_bank_id'))

    op.drop_table('import_job')
    op.drop_table('law_version')
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_category_bank_id'))

    op.drop_table('category')
    op.drop_table('law')
    op.drop_table('bank')
