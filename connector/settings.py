"""Typed settings: `settings.toml`, overridden by `OCOP_SYNC__SECTION__KEY` environment variables.

Secrets (app secrets, tokens, passwords) come only from the environment: a secret-looking key
found in settings.toml is refused. Shop credentials are read from
`OCOP_SYNC_SHOP_<SHOP_ID>_<NAME>` (upper case, `-` as `_`), e.g. `OCOP_SYNC_SHOP_LAZADA_AG_APP_SECRET`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import UTC
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from connector.redact import REDACTED_URL_PASSWORD, mask_url_password

# A settings key is a secret when any of its words is one of SECRET_WORDS, its last word is one
# of SECRET_LAST_WORDS, or it ends with one of SECRET_SUFFIXES ("token_check_interval_s" is not).
SECRET_WORDS = frozenset({"secret", "secrets", "password", "passwd", "passphrase", "fernet"})
SECRET_LAST_WORDS = frozenset({"token", "tokens", "apikey", "credential", "credentials", "pwd"})
SECRET_SUFFIXES = ("api_key", "private_key", "access_key", "secret_key", "signing_key", "encryption_key")
SANDBOX_URL = "sandbox"  # a shop whose base_url is this talks to an in-process simulator


class DatabaseSettings(BaseModel):
    """Where the store lives."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = ""  # empty = SQLite file under data_dir
    data_dir: Path = Path("var")
    lock_timeout_s: float = Field(default=10.0, gt=0, description="how long to wait for a busy SQLite database")

    def effective_url(self) -> str:
        """The SQLAlchemy URL to connect to."""
        return self.url or f"sqlite:///{self.data_dir / 'ocop-sync.db'}"


class HttpSettings(BaseModel):
    """Outbound HTTP to marketplaces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=10.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=20, gt=0)


class RetrySettings(BaseModel):
    """The single retry layer (tenacity) around adapter calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=6, ge=1)
    max_delay_s: float = Field(default=60.0, gt=0)
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_cap_s: float = Field(default=20.0, gt=0)


class SyncSettings(BaseModel):
    """Reconcile behaviour shared by every shop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_deactivate_ratio: float = Field(default=0.2, ge=0, le=1)
    cert_warning_days: int = Field(default=60, ge=0)
    rate_limit_share: float = Field(default=0.8, gt=0, le=1, description="start rate, share of the published limit")
    rate_limit_max_share: float = Field(
        default=0.9, gt=0, le=1, description="the adaptive rate's ceiling, share of the published limit"
    )
    read_concurrency: int = Field(default=6, ge=1, le=32, description="listing pages read side by side per shop")
    action_lease_s: float = Field(default=120.0, gt=0)
    reassert_after_s: float = Field(default=6 * 3600.0, gt=0)
    # how old the cached marketplace category tree and required attributes may get before a run re-reads them
    category_refresh_s: float = Field(default=24 * 3600.0, gt=0)


class SchedulerSettings(BaseModel):
    """The daemon's schedule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incremental_interval_s: float = Field(default=300.0, gt=0)
    full_cron: str = "30 2 * * *"
    timezone: str = "Asia/Ho_Chi_Minh"
    full_jitter_s: int = Field(default=600, ge=0)
    job_deadline_s: float = Field(default=1800.0, gt=0)
    resync_poll_s: float = Field(default=2.0, gt=0)
    sweeper_interval_s: float = Field(default=60.0, gt=0)
    token_check_interval_s: float = Field(default=3600.0, gt=0)
    report_cron: str = "0 7 * * *"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {tz!r} (e.g. 'Asia/Ho_Chi_Minh')") from None
        return tz

    @field_validator("full_cron", "report_cron")
    @classmethod
    def _valid_cron(cls, cron: str) -> str:
        try:
            CronTrigger.from_crontab(cron, timezone=UTC)
        except ValueError as exc:
            raise ValueError(f"not a valid 5-field crontab expression {cron!r}: {exc}") from None
        return cron


class DaemonSettings(BaseModel):
    """The long-running service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    drain_s: float = Field(default=20.0, ge=0)
    lease_s: float = Field(default=30.0, gt=0)
    worker_name: str = ""


class WebSettings(BaseModel):
    """The HTTP pages and API the daemon serves: exposure, sessions and abuse limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_public_bind: bool = False  # serve on a non-loopback address (put TLS in front of it)
    https: bool = False  # reached through an https proxy: session cookies get the Secure flag
    max_body_bytes: int = Field(default=16_384, ge=1_024)
    session_ttl_s: float = Field(default=12 * 3600.0, gt=0)
    auth_failure_limit: int = Field(default=10, ge=1)
    auth_failure_window_s: float = Field(default=300.0, gt=0)


class ReportSettings(BaseModel):
    """Producer report delivery."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    out_dir: Path = Path("var/reports")
    lang: str = "vi"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "ocop-sync@localhost"
    smtp_user: str = ""
    smtp_starttls: bool = False
    smtp_password: SecretStr | None = None  # only from OCOP_SYNC__REPORTS__SMTP_PASSWORD


class ShopSettings(BaseModel):
    """One seller account on one marketplace, and how our catalog is priced and stocked there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    marketplace: str
    seller_id: str
    base_url: str = SANDBOX_URL
    producer_id: str | None = None
    enabled: bool = True
    price_markup_pct: float = Field(default=0.0, ge=-50, le=500)
    price_round_vnd: int = Field(default=1000, ge=1)
    price_floor_vnd: int = Field(default=0, ge=0)
    safety_stock: int = Field(default=0, ge=0)
    zero_below: int = Field(default=0, ge=0)
    requests_per_second: float | None = Field(default=None, gt=0)
    restock_on_return: Literal["received", "never"] = "received"
    options: dict[str, Any] = Field(default_factory=dict)

    def credential_env(self, name: str) -> str:
        """The environment variable holding credential `name` for this shop."""
        return f"OCOP_SYNC_SHOP_{self.id}_{name}".upper().replace("-", "_")

    def credentials(self, names: tuple[str, ...], env: Mapping[str, str] | None = None) -> dict[str, SecretStr]:
        """Read this shop's credentials from the environment."""
        env = os.environ if env is None else env
        return {n: SecretStr(env[self.credential_env(n)]) for n in names if self.credential_env(n) in env}


class Settings(BaseSettings):
    """Everything ocop-sync can be told, validated once at start."""

    model_config = SettingsConfigDict(env_prefix="OCOP_SYNC__", env_nested_delimiter="__", frozen=True, extra="forbid")

    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    retry: RetrySettings = RetrySettings()
    sync: SyncSettings = SyncSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    daemon: DaemonSettings = DaemonSettings()
    web: WebSettings = WebSettings()
    reports: ReportSettings = ReportSettings()
    shops: tuple[ShopSettings, ...] = ()

    @field_validator("shops")
    @classmethod
    def _unique_shop_ids(cls, shops: tuple[ShopSettings, ...]) -> tuple[ShopSettings, ...]:
        ids = [s.id for s in shops]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"shop ids must be unique; repeated: {', '.join(dupes)}")
        return shops

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then explicit values (the parsed TOML)."""
        return (env_settings, init_settings)

    def shop(self, shop_id: str) -> ShopSettings:
        """The shop called `shop_id`, or KeyError naming the known ones."""
        for shop in self.shops:
            if shop.id == shop_id:
                return shop
        raise KeyError(f"unknown shop {shop_id!r}; known: {', '.join(s.id for s in self.shops)}")


class SettingsError(ValueError):
    """Settings are invalid; the message names the key and the reason."""


def find_secrets(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Keys in a parsed TOML document that look like secrets (they belong in the environment)."""
    found: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found += find_secrets(value, path + ".")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    found += find_secrets(item, f"{path}[{i}].")
        elif is_secret_key(key):
            found.append(path)
    return found


def is_secret_key(key: str) -> bool:
    """True when a settings key names a secret (app secret, token, password, key material)."""
    lowered = key.lower().replace("-", "_")
    words = lowered.split("_")
    return (
        any(word in SECRET_WORDS for word in words)
        or words[-1] in SECRET_LAST_WORDS
        or lowered.endswith(SECRET_SUFFIXES)
    )


def load_settings(path: Path | None = None) -> Settings:
    """Load settings.toml (default: $OCOP_SYNC_SETTINGS or ./settings.toml) plus environment overrides."""
    from pydantic import ValidationError

    path = path or Path(os.environ.get("OCOP_SYNC_SETTINGS", "settings.toml"))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    secrets = find_secrets(data)
    if secrets:
        raise SettingsError(
            f"{path}: secrets must come from the environment, not the settings file: {', '.join(secrets)}"
        )
    try:
        return Settings(**data)
    except ValidationError as exc:
        # input values are left out on purpose: an environment value may be a secret
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from exc
    except PydanticSettingsError as exc:  # an OCOP_SYNC__* variable that is not valid JSON for its key
        raise SettingsError(f"invalid settings from the environment: {exc}") from exc


REDACTED = REDACTED_URL_PASSWORD


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, with secrets and passwords inside URLs replaced by asterisks."""
    dumped: dict[str, Any] = _redact(settings.model_dump(mode="json"))
    return dumped


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    if key and is_secret_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return mask_url_password(value)
    return value
