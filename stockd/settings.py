"""Settings from the TOML config file and ``STOCKD_*`` environment variables.

Precedence: environment over file over defaults. ``DATABASE_URL`` is honoured as
``database.url``. Nested settings use ``__`` in variable names, e.g.
``STOCKD_WEB__PORT=8081``. A bad setting stops start-up with one line naming it.
"""

from __future__ import annotations

import os
import ssl
import tomllib
from pathlib import Path
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings
from pydantic_settings import PydanticBaseSettingsSource
from pydantic_settings import SettingsConfigDict

from scanner_gateway.config import ScannerConfig
from stock_core.domain.operator import DEFAULT_IDLE_MINUTES
from stock_core.domain.returns import DEFAULT_REASONS
from stock_core.domain.returns import check_reason_list
from stock_core.embedded import default_home
from stock_core.store.privileges import APP_ROLE_PATTERN

__all__ = [
    "CountSettings",
    "GatewaySettings",
    "Settings",
    "SettingsError",
    "StockSettings",
    "WebSettings",
    "load_settings",
    "tls_context",
]


class SettingsError(ValueError):
    """A setting is missing or bad; the message is one line naming it."""


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    """The app's connection (its pools). Best a role that owns nothing (``app_role``)."""
    admin_url: str | None = None
    """The schema owner's connection: migrations and grants run over it (``stockd
    migrate`` and start-up), never the app's pools. Unset: they run over ``url``."""
    app_role: str | None = Field(default=None, pattern=APP_ROLE_PATTERN)
    """The login role the app connects as (the user of ``url``): granted exactly what
    stockd needs after each migration. The embedded server uses ``stockd_app``."""
    pool_size: int = Field(default=10, ge=2, le=200)
    """The gateway's pool (``gateway``, ``serve``); the web app has ``web.pool_size``."""
    wait_s: float = Field(default=20.0, ge=0, le=3600)
    """How long a command that needs PostgreSQL (``web``, ``migrate``, ``import``,
    ``verify``, …) waits for it at start-up before giving up with one line."""
    connect_timeout_s: float = Field(default=2.0, gt=0, le=60)
    """Each host of the URL gets this long to accept, log in and answer (a hung host
    does not use up the next host's time)."""
    keepalive_s: float = Field(default=10.0, ge=1, le=3600)
    """Silence before TCP keepalive probes start on a connection (a dead peer is
    noticed within about twice this)."""
    statement_timeout_s: float = Field(default=5.0, gt=0, le=3600)
    """Each statement of the serving processes (``web``, ``gateway``, ``serve``) must be
    answered within this: past it the statement fails (the API answers 503) and its
    connection is dropped. A hung primary costs an API client this long, not a minute."""
    statement_cache: bool | Literal["auto"] = "auto"
    """asyncpg's prepared-statement cache: ``"auto"`` turns it off by itself behind a
    connection pooler (pgbouncer in transaction mode loses prepared statements)."""
    listen_url: str | None = None
    """A direct connection to the primary for LISTEN (the feed relay, token revocations)
    when ``url`` goes through a transaction pooler, which cannot hold a LISTEN."""
    replica_url: str | None = None
    """A read replica (or a pooler in front of replicas) for reports, CSV exports and
    forecast backtests."""
    replica_max_lag_s: float = Field(default=10.0, gt=0, le=86_400)
    """A replica further behind the primary than this is not used: reads go to the primary."""

    @field_validator("listen_url", "replica_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _admin_needs_url(self) -> DatabaseSettings:
        if self.admin_url and not self.url:
            raise ValueError(
                "admin_url is the schema owner's URL for migrations: set url (the app "
                "role's URL) too, or neither for the embedded PostgreSQL"
            )
        return self


_WEB_POOL_RESERVE = 3
"""Web pool connections not for exports: the feed relay's and the revocation listener's
(each holds one to LISTEN) and at least one for everything else."""


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    pool_size: int = Field(default=10, ge=4, le=200)
    acquire_timeout_s: float = Field(default=2.0, gt=0, le=60)
    max_feed_clients: int = Field(default=5000, ge=1, le=100_000)
    max_pending_hellos: int = Field(default=200, ge=1, le=100_000)
    hello_timeout_s: float = Field(default=10.0, gt=0, le=300)
    handheld_require_operator: bool = False
    """Handhelds (the /scan/ page) refuse product scans while no worker is signed in."""
    header_timeout_s: float = Field(default=15.0, gt=0, le=3600)
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=1 << 30)
    max_exports: int = Field(default=2, ge=1, le=100)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    webhooks: bool = True
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_endpoints: int = Field(default=100, ge=1, le=10_000)

    @model_validator(mode="after")
    def _tls_pair(self) -> WebSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both (PEM files) or neither")
        if self.max_pending_hellos > self.max_feed_clients:
            raise ValueError("max_pending_hellos cannot exceed max_feed_clients")
        if self.max_exports > self.pool_size - _WEB_POOL_RESERVE:
            raise ValueError(
                f"max_exports must leave connections for other requests: at most "
                f"pool_size - {_WEB_POOL_RESERVE} ({self.pool_size - _WEB_POOL_RESERVE})"
            )
        return self


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spool_dir: Path | None = None
    group_commit: bool = True
    batch_max: int = Field(default=256, ge=1, le=10_000)
    commit_workers: int = Field(default=2, ge=1, le=16)
    reconnect_max_s: float = Field(default=5.0, gt=0, le=300)
    spool_cap_mb: int = Field(default=1024, ge=1, le=1_048_576)
    """Most the spool may hold on disk while PostgreSQL is away; past it scans get a nak."""
    commit_timeout_s: float = Field(default=1.5, gt=0, le=60)
    """A commit (connecting included) that takes longer is dropped and its scans spooled:
    the worker hears the beep within about this, however sick the database."""
    replay_window_s: float = Field(default=60.0, ge=0, le=3600)
    """Committed scans kept this long and posted again after a failover to a new
    timeline (asynchronous replicas may have missed them); 0: off."""
    operator_idle_minutes: float = Field(default=DEFAULT_IDLE_MINUTES, gt=0, le=24 * 60)
    """An operator signed in (``USR:``) is signed out after this long without a scan; a
    scanner may set its own. Handhelds (the /scan/ page) use it too."""


class StockSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[str] = Field(default_factory=lambda: [str(code) for code in DEFAULT_REASONS])
    """The reason codes returns and scrap may name (``RSN:<code>``, the API's reason)."""

    @field_validator("reasons")
    @classmethod
    def _check_reasons(cls, value: list[str]) -> list[str]:
        return list(check_reason_list(value))


class CountSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approval_percent: float = Field(default=10.0, ge=0, le=1_000_000)
    """Count-task lines whose variance exceeds this percent of expected wait for approval."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STOCKD_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(default_factory=default_home)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    counts: CountSettings = Field(default_factory=CountSettings)
    stock: StockSettings = Field(default_factory=StockSettings)
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


def _no_password() -> bytes:
    """Refuse an encrypted key instead of prompting on the terminal."""
    return b""


def tls_context(web: WebSettings) -> ssl.SSLContext | None:
    """The server's TLS context from ``web.tls_cert``/``web.tls_key``; ``None`` without.

    Raises :class:`SettingsError` with one line naming the setting when a file is
    missing or unreadable, is not PEM, or the key does not match the certificate.
    """
    if web.tls_cert is None or web.tls_key is None:
        return None
    for name, path in (("web.tls_cert", web.tls_cert), ("web.tls_key", web.tls_key)):
        try:
            with path.open("rb") as file:
                file.read(1)
        except OSError as exc:
            raise SettingsError(
                f"bad setting {name}: cannot read {path}: {exc.strerror or exc}"
            ) from None
    try:  # on a scratch context: is it a certificate at all?
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(web.tls_cert))
    except (ssl.SSLError, ValueError) as exc:
        raise SettingsError(
            f"bad setting web.tls_cert: {web.tls_cert} holds no PEM certificate ({exc})"
        ) from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(web.tls_cert, web.tls_key, password=_no_password)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            detail = f"the key in {web.tls_key} does not match the certificate in {web.tls_cert}"
        else:
            detail = f"{web.tls_key} holds no usable PEM private key (or it is encrypted): {exc}"
        raise SettingsError(f"bad setting web.tls_key: {detail}") from None
    return context
