"""Initial registry schema, seeded system and buffer-pool accounts, append-only journal triggers.

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("journal_length", sa.BigInteger, nullable=False),
        sa.Column("journal_head", sa.String(64), nullable=False),
        sa.Column("next_serial", sa.BigInteger, nullable=False),
        sa.Column("next_certificate", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("external_id", sa.String(100)),
    )
    op.create_table(
        "monitoring_periods",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("verified_quantity", sa.BigInteger, nullable=False),
        sa.Column("issued_quantity", sa.BigInteger, nullable=False),
        sa.CheckConstraint("period_end >= period_start", name="ck_mp_dates"),
        sa.CheckConstraint("verified_quantity >= 0", name="ck_mp_verified"),
        sa.CheckConstraint("issued_quantity >= 0 AND issued_quantity <= verified_quantity",
                           name="ck_mp_issued_le_verified"),
    )
    op.create_index("ix_monitoring_periods_project_id", "monitoring_periods", ["project_id"])
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
    )
    op.create_table(
        "issuances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("monitoring_period_id", sa.Integer, sa.ForeignKey("monitoring_periods.id")),
        sa.Column("vintage_start", sa.Date, nullable=False),
        sa.Column("vintage_end", sa.Date, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("buffer_quantity", sa.BigInteger, nullable=False),
        sa.Column("buffer_percent", sa.String(16), nullable=False),
        sa.Column("serial_start", sa.BigInteger, nullable=False, unique=True),
        sa.Column("serial_end", sa.BigInteger, nullable=False, unique=True),
        sa.Column("manifest_sha256", sa.String(64)),
        sa.CheckConstraint("quantity > 0", name="ck_iss_quantity"),
        sa.CheckConstraint("serial_end - serial_start + 1 = quantity", name="ck_iss_range"),
        sa.CheckConstraint("buffer_quantity >= 0 AND buffer_quantity <= quantity", name="ck_iss_buffer"),
    )
    op.create_index("ix_issuances_project_id", "issuances", ["project_id"])
    op.create_table(
        "blocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("issuance_id", sa.Integer, sa.ForeignKey("issuances.id"), nullable=False),
        sa.Column("serial_start", sa.BigInteger, nullable=False),
        sa.Column("serial_end", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("blocks.id")),
        sa.CheckConstraint("serial_end >= serial_start", name="ck_block_range"),
        sa.CheckConstraint("status IN ('active','retired','cancelled','superseded')", name="ck_block_status"),
    )
    op.create_index("ix_blocks_issuance_serial", "blocks", ["issuance_id", "serial_start"])
    op.create_index("ix_blocks_account_status", "blocks", ["account_id", "status"])
    op.create_table(
        "reversals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("journal_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "retirements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("block_id", sa.Integer, sa.ForeignKey("blocks.id"), nullable=False, unique=True),
        sa.Column("certificate_number", sa.String(40), nullable=False, unique=True),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("beneficiary", sa.String(300), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("details", sa.Text),
        sa.Column("retired_at", sa.String(40), nullable=False),
        sa.Column("journal_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "cancellations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("block_id", sa.Integer, sa.ForeignKey("blocks.id"), nullable=False, unique=True),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("reversal_id", sa.Integer, sa.ForeignKey("reversals.id")),
        sa.Column("journal_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "journal",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id")),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("principal", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response_body", sa.Text),
        sa.UniqueConstraint("principal", "key", name="uq_idem_principal_key"),
    )
    # seed: state row, the system account and the buffer pool (ids 1 and 2)
    op.execute("INSERT INTO registry_state (id, journal_length, journal_head, next_serial, next_certificate) "
               "VALUES (1, 0, '" + "0" * 64 + "', 1, 1)")
    op.execute("INSERT INTO accounts (id, name, kind) VALUES (1, 'system', 'system')")
    op.execute("INSERT INTO accounts (id, name, kind) VALUES (2, 'buffer pool', 'buffer')")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('accounts', 'id'), 2)")
        op.execute("""
            CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the journal is append-only'; END $$""")
        op.execute("CREATE TRIGGER journal_no_update BEFORE UPDATE OR DELETE ON journal "
                   "FOR EACH ROW EXECUTE FUNCTION journal_append_only()")
    elif bind.dialect.name == "sqlite":
        op.execute("CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal "
                   "BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END")
        op.execute("CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal "
                   "BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END")


def downgrade() -> None:
    for name in ("idempotency_keys", "api_tokens", "journal", "cancellations", "retirements", "reversals",
                 "blocks", "issuances", "accounts", "monitoring_periods", "projects", "registry_state"):
        op.drop_table(name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS journal_append_only()")
