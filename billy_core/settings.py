"""Settings: ``BILLY_*`` environment variables over ``billy-mcp.toml`` over defaults.

The kernel's own settings are :class:`KernelSettings`. Each plugin contributes a model
through ``register_settings`` and reads only its own section: ``BILLY_<PLUGIN>__<KEY>`` or
``[plugins.<plugin>]`` in the config file (``BILLY_CONFIG`` names another file). A bad
value stops start-up with a :class:`~billy_core.errors.StartupError` naming the setting.
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from billy_core.errors import StartupError

DEFAULT_API_URL = "https://api.billysbilling.com/v2"
ENV_PREFIX = "BILLY_"
CONFIG_FILE = "billy-mcp.toml"

CommaList = Annotated[list[str], NoDecode]


def split_commas(value: Any) -> Any:
    """``"cache, audit"`` -> ``["cache", "audit"]``; lists pass through."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("billy-mcp", appauthor=False))
    return f"sqlite:///{data_dir / 'billy-mcp.sqlite3'}"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("BILLY_CONFIG", CONFIG_FILE))


def read_config_file(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The parsed config file, or ``{}`` when the default file does not exist."""
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    if not path.exists():
        if "BILLY_CONFIG" in environ:
            raise StartupError(f"BILLY_CONFIG: config file {path} does not exist")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise StartupError(f"{path}: cannot read config file: {exc}") from exc


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Top-level keys of billy-mcp.toml; ``[plugins] disabled/enabled`` map to the lists."""

    def __init__(self, settings_cls: type[BaseSettings], document: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        plugins = document.get("plugins", {})
        self._values = {key: value for key, value in document.items() if key != "plugins"}
        for key in ("disabled", "enabled"):
            if key in plugins:
                self._values.setdefault(f"plugins_{key}", plugins[key])

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in self._values.items() if key in self.settings_cls.model_fields}


class KernelSettings(BaseSettings):
    """The kernel's settings. Each field is ``BILLY_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    api_url: str = Field(DEFAULT_API_URL, description="Billy API v2 base URL")
    access_token: SecretStr | None = Field(None, description="Billy access token (company token)")
    organization_id: str | None = Field(
        None, description="Billy organization id; found from the token when unset"
    )
    read_only: bool | None = Field(
        None, description="Refuse writes. Unset: true against the real Billy, false under serve --sandbox"
    )
    plugins_disabled: CommaList = Field(default_factory=list, description="Plugins not to load")
    plugins_enabled: Annotated[list[str] | None, NoDecode] = Field(
        None, description="Allow-list: load only these plugins (plus the essential billy plugin)"
    )
    redis_url: SecretStr | None = Field(
        None, description="redis:// or rediss:// URL; add ?cluster=true for a cluster"
    )
    database_url: str = Field(
        default_factory=default_database_url, description="sqlite:///path or postgresql://..."
    )
    host: str = Field("127.0.0.1", description="HTTP bind address")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port")
    allowed_hosts: CommaList = Field(
        default_factory=list, description="Extra Host values accepted on /mcp and /api/v1"
    )
    allowed_origins: CommaList = Field(default_factory=list, description="Extra Origin values accepted")
    stateless_http: bool = Field(
        True, description="Serve Streamable HTTP without sessions (any instance serves)"
    )
    tool_timeout_seconds: float = Field(30.0, gt=0, description="Deadline of one tool call")
    upstream_timeout_seconds: float = Field(15.0, gt=0, description="Timeout of one HTTP request to Billy")
    page_size: int = Field(
        1000, ge=1, le=1000, description="Page size when a tool reads every page of a list"
    )
    log_level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    log_bodies: bool = Field(False, description="Debug: log Billy request/response bodies (PII-filtered)")
    pii_hash_key: SecretStr | None = Field(
        None,
        description="Key (16+ bytes) for the hashes that replace personal data in logs and audit entries",
    )
    gzip_minimum_size: int = Field(1024, ge=0, description="Compress HTTP answers larger than this (bytes)")
    gzip_level: int = Field(
        1, ge=1, le=9, description="gzip level: 1 is ~3x cheaper than 9 on tool answers and ~20% larger"
    )
    trace_plugins: bool = Field(False, description="Log every hook call (BILLY_TRACE_PLUGINS=1)")
    sandbox: bool = Field(False, description="Set by serve --sandbox: Billy is the in-process emulator")

    @field_validator("plugins_disabled", "allowed_hosts", "allowed_origins", "plugins_enabled", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_commas(value)

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgres://", "postgresql://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite:///, postgres:// or postgresql://")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def effective_read_only(self) -> bool:
        if self.read_only is None:
            return not self.sandbox
        return self.read_only

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _ConfigFileSource(settings_cls, read_config_file())


def load_kernel_settings(**overrides: Any) -> KernelSettings:
    try:
        return KernelSettings(**overrides)
    except ValidationError as exc:
        raise StartupError(describe_errors(exc, lambda loc: f"{ENV_PREFIX}{loc.upper()}")) from None


def describe_errors(exc: ValidationError, name_of: typing.Callable[[str], str]) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        location = "__".join(str(part) for part in error["loc"])
        given = error.get("input")
        shown = "" if isinstance(given, dict) or given is None else f" (got {given!r})"
        lines.append(f"{name_of(location)}: {error['msg']}{shown}")
    return "bad setting: " + "; ".join(lines)


def load_plugin_settings(
    plugin: str,
    model: type[BaseModel],
    *,
    document: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> BaseModel:
    """Build ``model`` from ``[plugins.<plugin>]`` overlaid with ``BILLY_<PLUGIN>__<KEY>``."""
    environ = os.environ if environ is None else environ
    prefix = f"{ENV_PREFIX}{plugin.upper()}__"
    values: dict[str, Any] = dict(document.get("plugins", {}).get(plugin, {}))
    for key, raw in environ.items():
        if key.upper().startswith(prefix):
            name = key[len(prefix) :].lower()
            values[name] = _coerce_env(model, name, raw)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise StartupError(describe_errors(exc, lambda loc: f"{prefix}{loc.upper()}")) from None


def _coerce_env(model: type[BaseModel], name: str, raw: str) -> Any:
    field = model.model_fields.get(name)
    if field is None:
        return raw
    origin = typing.get_origin(field.annotation)
    if origin in (list, tuple, set, frozenset) and not raw.lstrip().startswith("["):
        return split_commas(raw)
    if origin is dict or raw.lstrip().startswith(("[", "{")):
        import json

        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw
