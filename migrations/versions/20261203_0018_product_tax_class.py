"""Products carry a tax class that chooses their tax rate with the destination: products.tax_class.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:00:00

Written by hand to match models/db/tables.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.add_column(sa.Column("tax_class", sa.String(length=32), nullable=False, server_default="standard"))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.drop_column("tax_class")
