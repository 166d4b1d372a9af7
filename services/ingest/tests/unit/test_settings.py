from __future__ import annotations

import pytest

from mailroom_common.config import SettingsError, load_settings
from mailroom_ingest.settings import IngestSettings, Security

_ALL = (
    "INGEST_IMAP_HOST",
    "INGEST_IMAP_PORT",
    "INGEST_IMAP_SECURITY",
    "INGEST_IMAP_USER",
    "INGEST_IMAP_PASSWORD",
    "INGEST_MAILBOXES",
    "INGEST_IDLE_RENEW_S",
    "IMAP_SERVER",
    "IMAP_PORT",
    "EMAIL_SENDER",
    "EMAIL_APP_PASSWORD",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ALL:
        monkeypatch.delenv(name, raising=False)


def test_legacy_gmail_names_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAP_SERVER", "imap.gmail.com")
    monkeypatch.setenv("EMAIL_SENDER", "tienda@gmail.com")
    monkeypatch.setenv("EMAIL_APP_PASSWORD", "abcd efgh ijkl mnop")
    settings = load_settings(IngestSettings)
    [box] = settings.mailbox_configs()
    assert (box.host, box.port, box.security) == ("imap.gmail.com", 993, Security.SSL)
    assert box.user == "tienda@gmail.com"
    assert box.password.get_secret_value() == "abcd efgh ijkl mnop"
    assert box.name == "tienda@gmail.com"
    assert box.folder == "INBOX"
    assert "abcd" not in repr(settings)


def test_prefixed_names_win_and_starttls_defaults_to_143(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAP_SERVER", "legacy.example.com")
    monkeypatch.setenv("INGEST_IMAP_HOST", "imap.example.com")
    monkeypatch.setenv("INGEST_IMAP_SECURITY", "starttls")
    monkeypatch.setenv("INGEST_IMAP_USER", "u@example.com")
    monkeypatch.setenv("INGEST_IMAP_PASSWORD", "pw")
    [box] = load_settings(IngestSettings).mailbox_configs()
    assert (box.host, box.port, box.security) == ("imap.example.com", 143, Security.STARTTLS)


def test_several_mailboxes_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_IMAP_HOST", "imap.example.com")
    monkeypatch.setenv(
        "INGEST_MAILBOXES",
        '[{"name": "support", "user": "support@x.com", "password": "a"},'
        ' {"user": "sales@x.com", "password": "b", "folder": "Ventas",'
        '  "host": "other.example.com", "port": 1143, "security": "plain"}]',
    )
    settings = load_settings(IngestSettings)
    support, sales = settings.mailbox_configs()
    assert (support.name, support.host, support.port, support.folder) == (
        "support",
        "imap.example.com",
        993,
        "INBOX",
    )
    assert (sales.name, sales.host, sales.port, sales.security) == (
        "sales@x.com/Ventas",
        "other.example.com",
        1143,
        Security.PLAIN,
    )
    assert "'b'" not in repr(settings)
    assert '"b"' not in repr(settings)


def test_duplicate_mailbox_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "INGEST_MAILBOXES",
        '[{"name": "a", "user": "x@x.com", "password": "a"},'
        ' {"name": "a", "user": "y@x.com", "password": "b"}]',
    )
    with pytest.raises(SettingsError, match="unique"):
        load_settings(IngestSettings)


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(IngestSettings)
    assert "INGEST_IMAP_USER" in str(info.value)
    assert "EMAIL_APP_PASSWORD" in str(info.value)


def test_idle_renewal_cannot_exceed_29_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_SENDER", "a@b.c")
    monkeypatch.setenv("EMAIL_APP_PASSWORD", "x")
    monkeypatch.setenv("INGEST_IDLE_RENEW_S", str(30 * 60))
    with pytest.raises(SettingsError, match="INGEST_IDLE_RENEW_S"):
        load_settings(IngestSettings)


def test_every_field_is_described() -> None:
    missing = [n for n, f in IngestSettings.model_fields.items() if not f.description]
    assert missing == []
