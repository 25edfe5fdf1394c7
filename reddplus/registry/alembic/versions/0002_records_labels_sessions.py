"""Project records, credit labels and CCB verifications, token lifecycle, dashboard sessions,
idempotency-key expiry, journal checkpoints and the failed-attempt log.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as t:
        t.alter_column("name", type_=sa.String(500), existing_nullable=False)
        t.add_column(sa.Column("proponent", sa.String(500)))
        t.add_column(sa.Column("standard", sa.String(40)))
        t.add_column(sa.Column("methodology", sa.String(200)))
        t.add_column(sa.Column("status", sa.String(60)))
        t.add_column(sa.Column("crediting_period_start", sa.Date))
        t.add_column(sa.Column("crediting_period_end", sa.Date))
        t.add_column(sa.Column("estimated_annual_ers", sa.BigInteger))
        t.add_column(sa.Column("labels", sa.Text, nullable=False, server_default="[]"))
        t.add_column(sa.Column("boundary", sa.Text))
        t.add_column(sa.Column("attributes", sa.Text, nullable=False, server_default="{}"))
    with op.batch_alter_table("issuances") as t:
        t.add_column(sa.Column("labels", sa.Text, nullable=False, server_default="[]"))
        t.add_column(sa.Column("attributes", sa.Text, nullable=False, server_default="{}"))
    with op.batch_alter_table("reversals") as t:
        t.add_column(sa.Column("monitoring_period_id", sa.Integer, sa.ForeignKey("monitoring_periods.id",
                                                                                 name="fk_reversals_mp")))
    op.create_table(
        "ccb_verifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("body", sa.String(300), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("gold_levels", sa.String(40), nullable=False),
        sa.CheckConstraint("period_end >= period_start", name="ck_ccb_dates"),
    )
    op.create_index("ix_ccb_verifications_project_id", "ccb_verifications", ["project_id"])
    with op.batch_alter_table("api_tokens") as t:
        t.add_column(sa.Column("prefix", sa.String(16)))
        t.add_column(sa.Column("created_at", sa.String(40)))
        t.add_column(sa.Column("expires_at", sa.String(40)))
        t.add_column(sa.Column("revoked_at", sa.String(40)))
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("api_tokens.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )
    with op.batch_alter_table("idempotency_keys") as t:
        t.add_column(sa.Column("expires_at", sa.String(40)))
        t.add_column(sa.Column("claimed_at", sa.String(40)))
    op.create_table(
        "journal_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("verified_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "failed_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_failed_attempts_client", "failed_attempts", ["client"])
    op.create_index("ix_projects_country", "projects", ["country"])
    op.create_index("ix_retirements_journal_seq", "retirements", ["journal_seq"])


def downgrade() -> None:
    op.drop_index("ix_retirements_journal_seq", "retirements")
    op.drop_index("ix_projects_country", "projects")
    for name in ("failed_attempts", "journal_checkpoints", "browser_sessions", "ccb_verifications"):
        op.drop_table(name)
    with op.batch_alter_table("idempotency_keys") as t:
        t.drop_column("claimed_at")
        t.drop_column("expires_at")
    with op.batch_alter_table("api_tokens") as t:
        for c in ("revoked_at", "expires_at", "created_at", "prefix"):
            t.drop_column(c)
    with op.batch_alter_table("reversals") as t:
        t.drop_constraint("fk_reversals_mp", type_="foreignkey")
        t.drop_column("monitoring_period_id")
    with op.batch_alter_table("issuances") as t:
        t.drop_column("attributes")
        t.drop_column("labels")
    with op.batch_alter_table("projects") as t:
        for c in ("attributes", "boundary", "labels", "estimated_annual_ers", "crediting_period_end",
                  "crediting_period_start", "status", "methodology", "standard", "proponent"):
            t.drop_column(c)
        t.alter_column("name", type_=sa.String(200), existing_nullable=False)
