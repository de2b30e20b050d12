"""Who may see and download personal data, and the audit log of downloads. No Streamlit import.

Roles (most to least restricted):
- ``viewer``: aggregates only: no customer-level lists, no downloads.
- ``analyst``: customer lists and downloads with emails masked (``j***@example.com``).
- ``marketing``: win-back and cohort lists with real emails, and their downloads.

Without a login (Streamlit's ``st.login`` not configured) everyone gets ``default_role`` (``analyst``:
masked) unless ``show_pii`` is set. With a login, ``roles`` maps an email (or ``*@domain``) to a role
and anyone unmapped is a ``viewer``. Masking happens in SQL, so a masked address never reaches the browser.

Customer ids that are themselves e-mail addresses or phone numbers are personal data too: unless the role may
see personal data, every query that shows a customer id shows ``customer_label(customer_id, show_pii)``
(queries/privacy_macros.sql), a stable keyed pseudonym (``anon-3f9a…``) for such ids. The key is a secret in the
state folder (``pseudonym_key``), so the same id has the same pseudonym across pages, downloads and restarts.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROLES = ("viewer", "analyst", "marketing")
_AUDIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Access:
    """What the current user may see: customer lists, real emails, downloads."""

    user: str
    role: str

    @property
    def can_see_customers(self) -> bool:
        """Customer-level tables (win-back lists, cohort members)."""
        return self.role in ("analyst", "marketing")

    @property
    def can_see_pii(self) -> bool:
        """Real email addresses."""
        return self.role == "marketing"

    @property
    def can_download(self) -> bool:
        """CSV downloads of customer lists."""
        return self.role in ("analyst", "marketing")


def resolve_access(settings, user_email: str | None, is_logged_in: bool) -> Access:
    """The role of a user from the settings' role map (see module docstring).

    Example: ``resolve_access(settings, "ana@acme.com", True).role == "marketing"`` with
    ``roles = {"ana@acme.com" = "marketing"}``.
    """
    if not is_logged_in:
        role = "marketing" if settings.show_pii else settings.default_role
        return Access("anonymous", role if role in ROLES else "viewer")
    email = (user_email or "").strip().lower()
    roles = {key.strip().lower(): value for key, value in dict(settings.roles).items()}
    role = roles.get(email)
    if role is None and "@" in email:
        role = roles.get("*@" + email.split("@", 1)[1])
    if role is None:
        role = roles.get("*", "viewer")
    return Access(email or "unknown", role if role in ROLES else "viewer")


def record_download(state_dir: Path, access: Access, what: str, segment: dict, row_count: int,
                    file_name: str) -> None:
    """Append one line to the audit log: who, when, which list and segment, how many rows."""
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": access.user,
        "role": access.role,
        "download": what,
        "file_name": file_name,
        "segment": {key: value for key, value in segment.items() if value not in (None, [], ())},
        "rows": int(row_count),
        "with_emails": access.can_see_pii,
    }
    path = Path(state_dir) / "audit" / "downloads.jsonl"
    with _AUDIT_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def read_audit_log(state_dir: Path) -> list[dict]:
    """Every recorded download, oldest first."""
    path = Path(state_dir) / "audit" / "downloads.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


PSEUDONYM_KEY_FILE = "pseudonym.key"


def pseudonym_key(state_dir: Path) -> str:
    """The secret the pseudonyms of customer ids are keyed with: made once (random, readable by the owner only) in
    ``<state_dir>/pseudonym.key`` and read back after. When the state folder cannot hold it, a key for this process
    only: pseudonyms then change at the next start, but no id is shown raw.
    """
    path = Path(state_dir) / PSEUDONYM_KEY_FILE
    try:
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    except (OSError, UnicodeDecodeError):
        pass
    key = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
    except FileExistsError:  # another process made it first: use theirs
        return pseudonym_key(state_dir) if path.stat().st_size else key
    except OSError:
        pass
    return key


def install_customer_labels(connection, state_dir: Path) -> None:
    """Create the ``customer_label`` macro and the ``pseudonym_key`` table (the key, bound as a parameter) in the
    connection's main schema (queries/privacy_macros.sql)."""
    from dashboard import queries

    queries.execute_file(connection, "privacy_macros", pseudonym_key=pseudonym_key(state_dir))
