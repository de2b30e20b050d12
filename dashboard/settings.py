"""Where the exports live and the knobs that change what the dashboard shows.

Precedence, highest first: environment variables (``DASHBOARD_*``), a TOML settings file
(``DASHBOARD_SETTINGS`` or ``dashboard.toml`` at the project root), then the defaults below.
Defaults work out of the box: the embedded demo exports under ``data/demo``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DATA_DIR = PROJECT_ROOT / "data" / "demo"
STATE_DIR = PROJECT_ROOT / ".state"


class SettingsError(ValueError):
    """A setting has a value the dashboard cannot use (the message names it)."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where ``send-report`` delivers the weekly review (``[smtp]`` in dashboard.toml).

    The password is never in the file: it is read from the environment variable named by ``password_env``
    when a message is sent. ``starttls`` upgrades a plain connection (port 587); ``ssl`` connects with TLS
    from the start (port 465).
    """

    host: str = ""
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    user: str = ""
    password_env: str = "DASHBOARD_SMTP_PASSWORD"
    sender: str = ""
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise SettingsError(f"[smtp] port must be a whole number from 1 to 65535, not {self.port!r}")
        if self.ssl and self.starttls:
            raise SettingsError("[smtp] ssl and starttls exclude each other: ssl = true connects with TLS from "
                                "the start (port 465), starttls = true upgrades a plain connection (port 587)")
        for name in ("host", "user", "password_env", "sender"):
            if not isinstance(getattr(self, name), str):
                raise SettingsError(f"[smtp] {name} must be text, not {getattr(self, name)!r}")
        for name in ("starttls", "ssl"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"[smtp] {name} must be true or false, not {getattr(self, name)!r}")


def _smtp_settings(values) -> SmtpSettings:
    """``[smtp]`` of the settings file as SmtpSettings (its ``from`` key is the sender address)."""
    if isinstance(values, SmtpSettings):
        return values
    if not isinstance(values, dict):
        raise SettingsError("smtp must be a table: [smtp] with host, port, ...")
    values = dict(values)
    if "from" in values:
        values["sender"] = values.pop("from")
    known = {field.name for field in dataclasses.fields(SmtpSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(f"[smtp] has unknown settings: {', '.join(unknown)} "
                            "(known: host, port, starttls, ssl, user, password_env, from, timeout_seconds)")
    return SmtpSettings(**values)


def _frozen(value):
    """A TOML value as nested tuples (tables as sorted (key, value) pairs), so Settings stays hashable."""
    if isinstance(value, dict):
        return tuple(sorted((str(key), _frozen(item)) for key, item in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting of the dashboard; see docs/settings in the README for each one."""

    data_dir: Path = DEMO_DATA_DIR
    timezone: str = "UTC"
    small_cohort_size: int = 30
    stale_after_days: int = 3
    row_drop_warn_share: float = 0.2
    show_pii: bool = False
    default_role: str = "analyst"
    roles: tuple[tuple[str, str], ...] = ()
    query_timeout_seconds: float = 30.0
    memory_limit: str = ""
    state_dir: Path = STATE_DIR
    model_snapshots: bool = True
    background_build: bool = True
    prepared_dir: Path | None = None  # a folder prepared on another engine (Spark) to serve instead of the exports
    # [[alerts]] tables, each frozen to sorted (key, value) pairs; dashboard.alerts.rules() reads and checks
    # them, so a wrong rule is reported by name where alerts are checked and never stops the app.
    alerts: tuple = ()
    smtp: SmtpSettings = SmtpSettings()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(f"timezone {self.timezone!r} is not a known IANA time zone") from error
        if self.default_role not in ("viewer", "analyst", "marketing"):
            raise SettingsError(f"default_role must be viewer, analyst or marketing, not {self.default_role!r}")
        if self.small_cohort_size < 0:
            raise SettingsError("small_cohort_size must be 0 or more")
        exports, state = Path(self.data_dir).expanduser().resolve(), Path(self.state_dir).expanduser().resolve()
        if state == exports or exports in state.parents:
            # Snapshots, DuckDB's spill files and the audit log would be written into the exports, which are
            # read-only to us (and a snapshot there would be read as an export's change on every start).
            raise SettingsError(f"state_dir {state} is inside the data folder {exports}: the exports are read-only "
                                "to the dashboard; choose a state folder outside it (DASHBOARD_STATE_DIR)")


def _flag(text: str) -> bool:
    """An environment variable read as a yes/no setting: 1, true, yes and on are yes."""
    return text.strip().lower() in {"1", "true", "yes", "on"}


# setting name -> (environment variable, parser)
_ENVIRONMENT = {
    "data_dir": ("DASHBOARD_DATA_DIR", Path),
    "timezone": ("DASHBOARD_TIMEZONE", str),
    "small_cohort_size": ("DASHBOARD_SMALL_COHORT_SIZE", int),
    "stale_after_days": ("DASHBOARD_STALE_AFTER_DAYS", int),
    "row_drop_warn_share": ("DASHBOARD_ROW_DROP_WARN_SHARE", float),
    "show_pii": ("DASHBOARD_SHOW_PII", _flag),
    "default_role": ("DASHBOARD_DEFAULT_ROLE", str),
    "query_timeout_seconds": ("DASHBOARD_QUERY_TIMEOUT_SECONDS", float),
    "memory_limit": ("DASHBOARD_MEMORY_LIMIT", str),
    "state_dir": ("DASHBOARD_STATE_DIR", Path),
    "model_snapshots": ("DASHBOARD_MODEL_SNAPSHOTS", _flag),
    "background_build": ("DASHBOARD_BACKGROUND_BUILD", _flag),
    "prepared_dir": ("DASHBOARD_PREPARED_DIR", Path),
}


def load_settings(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Read settings from the file, then the environment, then explicit overrides.

    Example: ``load_settings(data_dir="/exports/acme")``.
    """
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    settings_file = Path(environ.get("DASHBOARD_SETTINGS", PROJECT_ROOT / "dashboard.toml"))
    if settings_file.is_file():
        try:
            file_values = tomllib.loads(settings_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"settings file {settings_file} is not valid TOML: {error}") from error
        known = {field.name for field in dataclasses.fields(Settings)}
        unknown = sorted(set(file_values) - known)
        if unknown:
            raise SettingsError(f"settings file {settings_file} has unknown settings: {', '.join(unknown)}")
        values.update(file_values)
    for name, (variable, parse) in _ENVIRONMENT.items():
        if environ.get(variable, "") != "":
            try:
                values[name] = parse(environ[variable])
            except ValueError as error:
                raise SettingsError(f"{variable}={environ[variable]!r}: {error}") from error
    values.update({name: value for name, value in overrides.items() if value is not None})
    if "alerts" in values:
        if not isinstance(values["alerts"], (list, tuple)) or not all(
                isinstance(rule, (dict, tuple)) for rule in values["alerts"]):
            raise SettingsError("alerts must be a list of [[alerts]] tables (name, metric, comparison, threshold)")
        values["alerts"] = tuple(_frozen(rule) if isinstance(rule, dict) else rule for rule in values["alerts"])
    if "smtp" in values:
        values["smtp"] = _smtp_settings(values["smtp"])
    if isinstance(values.get("roles"), dict):
        values["roles"] = tuple(sorted((str(key), str(value)) for key, value in values["roles"].items()))
    for name in ("data_dir", "state_dir", "prepared_dir"):
        if values.get(name) is not None:
            values[name] = Path(values[name]).expanduser()
    return Settings(**values)
