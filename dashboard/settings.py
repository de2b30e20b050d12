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
    prepared_dir: Path | None = None  # a folder prepared on another engine (Spark) to serve instead of the exports

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(f"timezone {self.timezone!r} is not a known IANA time zone") from error
        if self.default_role not in ("viewer", "analyst", "marketing"):
            raise SettingsError(f"default_role must be viewer, analyst or marketing, not {self.default_role!r}")
        if self.small_cohort_size < 0:
            raise SettingsError("small_cohort_size must be 0 or more")


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
    if isinstance(values.get("roles"), dict):
        values["roles"] = tuple(sorted((str(key), str(value)) for key, value in values["roles"].items()))
    for name in ("data_dir", "state_dir", "prepared_dir"):
        if values.get(name) is not None:
            values[name] = Path(values[name]).expanduser()
    return Settings(**values)
