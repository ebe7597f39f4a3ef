"""Column types and helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.dialects import mysql

# BIGINT ids on MySQL; SQLite only auto-increments a column typed exactly INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Long text: LONGTEXT on MySQL (TEXT caps at 64 KB), TEXT elsewhere.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql")

# RFC 5321 caps a forward path at 254 characters.
Email = String(254)


def utcnow() -> datetime:
    """Naive UTC: SQLite and MySQL DATETIME columns both store naive values."""
    return datetime.now(UTC).replace(tzinfo=None)
