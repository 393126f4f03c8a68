"""Settings: environment over config file over defaults, per-plugin sections, clear errors."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from billy_core.errors import StartupError
from billy_core.settings import load_kernel_settings, load_plugin_settings, read_config_file


def test_comma_separated_lists_parse_as_lists(monkeypatch):
    monkeypatch.setenv("BILLY_PLUGINS_DISABLED", "cache, audit ,")
    assert load_kernel_settings().plugins_disabled == ["cache", "audit"]


def test_read_only_defaults_to_true_against_real_billy_and_false_in_sandbox():
    assert load_kernel_settings().effective_read_only is True
    assert load_kernel_settings(sandbox=True).effective_read_only is False
    assert load_kernel_settings(sandbox=True, read_only=True).effective_read_only is True


def test_bad_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("BILLY_TOOL_TIMEOUT_SECONDS", "-1")
    with pytest.raises(StartupError, match="BILLY_TOOL_TIMEOUT_SECONDS: Input should be greater than 0"):
        load_kernel_settings()


def test_bad_database_url_names_the_variable(monkeypatch):
    monkeypatch.setenv("BILLY_DATABASE_URL", "mysql://x")
    with pytest.raises(StartupError, match="BILLY_DATABASE_URL: Value error, must start with sqlite:///"):
        load_kernel_settings()


def test_config_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    path = tmp_path / "custom.toml"
    path.write_text('port = 9100\nhost = "127.0.0.1"\n[plugins]\ndisabled = ["cache"]\n', encoding="utf-8")
    monkeypatch.setenv("BILLY_CONFIG", str(path))
    settings = load_kernel_settings()
    assert settings.port == 9100 and settings.plugins_disabled == ["cache"]
    monkeypatch.setenv("BILLY_PORT", "9200")
    assert load_kernel_settings().port == 9200


def test_missing_named_config_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BILLY_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(StartupError, match="does not exist"):
        load_kernel_settings()


def test_broken_config_file_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "broken.toml"
    path.write_text("port = = 1\n", encoding="utf-8")
    monkeypatch.setenv("BILLY_CONFIG", str(path))
    with pytest.raises(StartupError, match="cannot read config file"):
        load_kernel_settings()


class CacheLikeSettings(BaseModel):
    default_ttl_seconds: int = 30
    warm: list[str] = []
    ttl_by_resource: dict[str, int] = {}


def test_plugin_settings_come_from_its_section_and_its_env_prefix(tmp_path, monkeypatch):
    document = {"plugins": {"cache": {"default_ttl_seconds": 60, "warm": ["invoices"]}}}
    monkeypatch.setenv("BILLY_CACHE__WARM", "contacts,products")
    monkeypatch.setenv("BILLY_CACHE__TTL_BY_RESOURCE", '{"invoices": 5}')
    settings = load_plugin_settings("cache", CacheLikeSettings, document=document)
    assert settings.default_ttl_seconds == 60
    assert settings.warm == ["contacts", "products"]
    assert settings.ttl_by_resource == {"invoices": 5}


def test_bad_plugin_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("BILLY_CACHE__DEFAULT_TTL_SECONDS", "soon")
    with pytest.raises(
        StartupError, match="BILLY_CACHE__DEFAULT_TTL_SECONDS: Input should be a valid integer"
    ):
        load_plugin_settings("cache", CacheLikeSettings, document={})


def test_plugin_settings_are_validated_at_kernel_build(make_kernel, billy_plugins, monkeypatch):
    from billy_core import hookimpl

    class Plugin:
        @hookimpl
        def register_settings(self, register):
            register("demo", CacheLikeSettings)

    billy_plugins.append(("demo", Plugin()))
    assert make_kernel().plugin_settings("demo").default_ttl_seconds == 30
    monkeypatch.setenv("BILLY_DEMO__DEFAULT_TTL_SECONDS", "x")
    with pytest.raises(StartupError, match="BILLY_DEMO__DEFAULT_TTL_SECONDS"):
        make_kernel()


def test_default_config_file_is_optional(tmp_path, monkeypatch):
    monkeypatch.delenv("BILLY_CONFIG")
    monkeypatch.chdir(tmp_path)
    assert read_config_file() == {}
