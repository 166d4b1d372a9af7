from __future__ import annotations

import pytest

from mailroom_common.config import SettingsError, load_settings
from mailroom_sender.settings import SenderSettings


def test_legacy_gmail_variables_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_SENDER", "tienda@gmail.com")
    monkeypatch.setenv("EMAIL_APP_PASSWORD", "abcd efgh ijkl mnop")
    monkeypatch.setenv("SENDER_SMTP_HOST", "smtp.gmail.com")
    monkeypatch.setenv("SENDER_SMTP_PORT", "465")
    monkeypatch.setenv("SENDER_SMTP_SECURITY", "tls")
    s = load_settings(SenderSettings)
    assert s.smtp_user == "tienda@gmail.com"
    assert s.smtp_password is not None
    assert s.smtp_password.get_secret_value() == "abcd efgh ijkl mnop"
    assert "abcd" not in repr(s)


def test_prefixed_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_SENDER", "old@x.com")
    monkeypatch.setenv("SENDER_SMTP_USER", "new@x.com")
    s = load_settings(SenderSettings)
    assert s.smtp_user == "new@x.com"


def test_invalid_security_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDER_SMTP_SECURITY", "ssl3")
    with pytest.raises(SettingsError, match="SENDER_SMTP_SECURITY"):
        load_settings(SenderSettings)


def test_every_field_is_described() -> None:
    missing = [n for n, f in SenderSettings.model_fields.items() if not f.description]
    assert missing == []
