"""Settings from the TOML config file and ``STOCKD_*`` environment variables.

Precedence: environment over file over defaults. ``DATABASE_URL`` is honoured as
``database.url``. Nested settings use ``__`` in variable names, e.g.
``STOCKD_WEB__PORT=8081``. A bad setting stops start-up with one line naming it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from scanner_gateway.config import ScannerConfig
from stock_core.store.database import default_home

__all__ = ["GatewaySettings", "Settings", "SettingsError", "WebSettings", "load_settings"]


class SettingsError(ValueError):
    """A setting is missing or bad; the message is one line naming it."""


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    pool_size: int = Field(default=10, ge=2, le=200)


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spool_dir: Path | None = None
    group_commit: bool = True
    batch_max: int = Field(default=256, ge=1, le=10_000)
    commit_workers: int = Field(default=2, ge=1, le=16)
    reconnect_max_s: float = Field(default=5.0, gt=0, le=300)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STOCKD_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(default_factory=default_home)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    scanners: list[ScannerConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_scanner_ids(self) -> Settings:
        ids = [s.id for s in self.scanners]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"scanner ids must be unique: {', '.join(dupes)}")
        return self

    @property
    def spool_dir(self) -> Path:
        return self.gateway.spool_dir or self.home / "spool"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first, then what load_settings passes in from the file.
        return (env_settings, init_settings)


def _describe(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    # Name the variable when the environment set it, not the file it overrode.
    variable = "STOCKD_" + "__".join(str(part) for part in first["loc"]).upper()
    if first["loc"] and variable in {name.upper() for name in os.environ}:
        origin = f"environment {variable}"
    more = len(error.errors()) - 1
    tail = f" (and {more} more)" if more else ""
    return f"bad setting {where}: {first['msg']} [{origin}]{tail}"


def load_settings(path: Path | None = None) -> Settings:
    """Load and validate; raises :class:`SettingsError` with one clear line."""
    data: dict[str, Any] = {}
    origin = "defaults and environment"
    if path is not None:
        origin = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"cannot read config file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    if os.environ.get("DATABASE_URL"):
        data.setdefault("database", {})
        if isinstance(data["database"], dict):
            data["database"]["url"] = os.environ["DATABASE_URL"]
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, origin)) from None
