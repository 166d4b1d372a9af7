import pytest

from mailroom_admin_api.settings import AdminSettings
from mailroom_common.config import SettingsError, load_settings


def test_missing_token_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_API_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="ADMIN_API_TOKEN is missing"):
        load_settings(AdminSettings)


def test_short_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_TOKEN", "short")
    with pytest.raises(SettingsError, match="ADMIN_API_TOKEN"):
        load_settings(AdminSettings)


def test_defaults_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_TOKEN", "x" * 24)
    monkeypatch.setenv("ADMIN_CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.setenv("ADMIN_TRANSACTIONAL_TEMPLATES", "order_confirmation,shipping_notice")
    monkeypatch.setenv("ADMIN_TRACING_UI_BASE_URL", "http://127.0.0.1:16686/")
    settings = load_settings(AdminSettings)
    assert settings.host == "127.0.0.1"
    assert settings.port == 28000
    assert settings.cors_origins == ["http://a.test", "http://b.test"]
    assert settings.transactional_templates == ["order_confirmation", "shipping_notice"]
    assert settings.tracing_ui_base_url == "http://127.0.0.1:16686"
    assert settings.api_token.get_secret_value() == "x" * 24
    assert "x" * 24 not in repr(settings)


def test_cors_is_off_and_one_template_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_TOKEN", "x" * 24)
    for name in ("ADMIN_CORS_ORIGINS", "ADMIN_TRANSACTIONAL_TEMPLATES"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(AdminSettings)
    assert settings.cors_origins == []
    assert settings.transactional_templates == ["order_confirmation"]


def test_entrypoint_exits_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailroom_admin_api.__main__ import main

    monkeypatch.delenv("ADMIN_API_TOKEN", raising=False)
    assert main() == 2
    assert "ADMIN_API_TOKEN is missing" in capsys.readouterr().err
