"""The ledger pool's connection arguments, derived from the shared DATABASE_URL."""

from __future__ import annotations

from pydantic import SecretStr

from mailroom_common.config import DatabaseSettings
from mailroom_sender.pgpool import asyncpg_connect_args


def _args(url: str) -> tuple[str, dict[str, object]]:
    return asyncpg_connect_args(DatabaseSettings(url=SecretStr(url)))


def test_sqlalchemy_url_becomes_a_plain_dsn_with_the_password() -> None:
    dsn, kwargs = _args("postgresql+asyncpg://mailroom:s3cr%40t@db:5432/mailroom")
    assert dsn == "postgresql://mailroom:s3cr%40t@db:5432/mailroom"
    assert kwargs == {}


def test_dialect_options_become_connect_keywords_and_libpq_options_stay() -> None:
    dsn, kwargs = _args(
        "postgresql+asyncpg://u:p@db/m?ssl=require&prepared_statement_cache_size=0"
        "&application_name=sender"
    )
    assert dsn == "postgresql://u:p@db/m?application_name=sender"
    assert kwargs == {"ssl": "require", "statement_cache_size": 0}
