"""Find the Parquet exports, map their columns to the contract and register typed DuckDB views.

Nothing here writes to the data folder: files are read in place through ``read_parquet`` views.
Each contract table becomes two views: ``raw_<table>`` (the files as they are) and ``<table>``
(canonical names and types, one row per source row).  A table that is absent or unusable becomes
an empty view with the canonical columns, so every query still runs and pages show an empty state.
See docs/data-contract.md for the contract itself.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dashboard.findings import Finding

# Canonical column kinds: how a source column is converted.
ID, TEXT, TIMESTAMP, NUMBER, BOOLEAN = "id", "text", "timestamp", "number", "boolean"

DUCKDB_TYPE = {ID: "varchar", TEXT: "varchar", TIMESTAMP: "timestamp", NUMBER: "double", BOOLEAN: "boolean"}

# Text timestamps that are not ISO 8601 are tried in this order (day-first before month-first).
TEXT_TIMESTAMP_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %I:%M %p",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)


@dataclass(frozen=True)
class TableSpec:
    """The contract for one table: its columns in order, which are required, and whether it is."""

    name: str
    columns: dict[str, str]
    required_columns: tuple[str, ...]
    is_required: bool = False


CONTRACT: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "orders",
            {
                "order_id": ID,
                "customer_id": ID,
                "ordered_at": TIMESTAMP,
                "revenue": NUMBER,
                "status": TEXT,
                "channel": TEXT,
                "region": TEXT,
                "product_category": TEXT,
                "discount": NUMBER,
                "currency": TEXT,
            },
            ("order_id", "customer_id", "ordered_at", "revenue"),
            is_required=True,
        ),
        TableSpec(
            "surveys",
            {
                "response_id": ID,
                "customer_id": ID,
                "submitted_at": TIMESTAMP,
                "kind": TEXT,
                "score": NUMBER,
                "order_id": ID,
                "touchpoint": TEXT,
                "comment": TEXT,
            },
            ("response_id", "customer_id", "submitted_at", "kind", "score"),
        ),
        TableSpec(
            "customers",
            {
                "customer_id": ID,
                "email": TEXT,
                "created_at": TIMESTAMP,
                "acquisition_channel": TEXT,
                "region": TEXT,
                "loyalty_tier": TEXT,
                "marketing_opt_in": BOOLEAN,
            },
            ("customer_id",),
        ),
        TableSpec(
            "tickets",
            {
                "ticket_id": ID,
                "customer_id": ID,
                "opened_at": TIMESTAMP,
                "resolved_at": TIMESTAMP,
                "category": TEXT,
                "order_id": ID,
                "status": TEXT,
                "subject": TEXT,
                "body": TEXT,
            },
            ("ticket_id", "customer_id", "opened_at", "resolved_at", "category"),
        ),
        TableSpec(
            "campaigns",
            {
                "campaign_id": ID,
                "customer_id": ID,
                "group": TEXT,
                "sent_at": TIMESTAMP,
                "channel": TEXT,
                "offer": TEXT,
            },
            ("campaign_id", "customer_id", "group", "sent_at"),
        ),
        TableSpec(
            "returns",
            {
                "return_id": ID,
                "order_id": ID,
                "customer_id": ID,
                "requested_at": TIMESTAMP,
                "reason": TEXT,
                "refund_amount": NUMBER,
            },
            ("return_id", "order_id", "customer_id", "requested_at"),
        ),
    )
}


# Text customers type themselves: normalised to Unicode NFKC when the clean tables are built, so one pattern
# masks an e-mail address or phone number however it was typed (fullwidth digits, non-breaking spaces, ligatures).
FREE_TEXT_COLUMNS = {"surveys": ("comment",), "tickets": ("subject", "body")}


@dataclass
class TableSource:
    """What was found for one contract table and how its canonical view reads it."""

    name: str
    files: list[Path] = field(default_factory=list)  # the files read; the files found when none can be read
    row_count: int = 0
    is_usable: bool = False
    # canonical column -> (source column or None, source DuckDB type(s) or None, SQL expression of the first group)
    columns: dict[str, tuple[str | None, str | None, str]] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # canonical column -> its kind (id, text, ...)
    groups: list = field(default_factory=list)  # FileGroup: the files read together, each on its own schema
    unreadable: dict[Path, str] = field(default_factory=dict)  # files found but not read, with the reason

    @property
    def is_incomplete(self) -> bool:
        """True when some of the table's files could not be read: its numbers exclude their rows."""
        return bool(self.unreadable)

    @property
    def location(self) -> str:
        """The entry name as a user sees it in the data folder, e.g. ``orders/`` or ``orders.parquet``."""
        if not self.files:
            return self.name
        first = self.files[0]
        return f"{self.name}.parquet" if first.name == f"{self.name}.parquet" else f"{self.name}/"


@dataclass
class Catalog:
    """All tables found in a data folder, the findings made while reading them, and a fingerprint."""

    data_dir: Path
    tables: dict[str, TableSource]
    findings: list[Finding]
    fingerprint: str
    mapping_text: str = ""

    def unreadable_files_text(self, table: str) -> str:
        """The files of a table that could not be read, as the user sees them: ``orders/a.parquet and 2 more``."""
        return _files_text(sorted(_relative(path, self.data_dir) for path in self.tables[table].unreadable))


def quote_identifier(name: str) -> str:
    """Quote a column name from a file for DuckDB (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Quote a path found on disk as a SQL string literal; never used for values from users."""
    return "'" + text.replace("'", "''") + "'"


def _is_hidden(name: str) -> bool:
    """Names Spark, Hive and macOS use for bookkeeping (``_SUCCESS``, ``_temporary/``, ``._part-0.parquet``)."""
    return name.startswith((".", "_"))


def find_table_files(data_dir: Path, table: str) -> list[Path]:
    """Parquet files of a table: ``<table>.parquet`` and every ``*.parquet`` under ``<table>/``, sorted.

    Inside ``<table>/``, files and folders whose names start with ``.`` or ``_`` are skipped.
    Raises PermissionError naming a folder that cannot be listed, instead of silently skipping it.
    """
    single = data_dir / f"{table}.parquet"
    folder = data_dir / table
    files = [single] if single.is_file() else []
    if folder.is_dir():
        nested: list[Path] = []
        for root, folders, names in os.walk(folder, onerror=_raise_error):
            folders[:] = [name for name in folders if not _is_hidden(name)]
            nested.extend(
                Path(root) / name
                for name in names
                if name.endswith(".parquet") and not _is_hidden(name) and (Path(root) / name).is_file()
            )
        files.extend(sorted(nested))
    return files


def _raise_error(error: OSError) -> None:
    """``os.walk`` ignores folders it cannot list unless told to raise."""
    raise error


def read_mapping(data_dir: Path, findings: list[Finding]) -> tuple[dict[str, dict[str, str]], str]:
    """Read ``mapping.toml`` (``[orders] order_id = "Name"``); an invalid file is reported and ignored."""
    path = data_dir / "mapping.toml"
    if not path.is_file():
        return {}, ""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors add one) is not part of the TOML
        parsed = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        findings.append(Finding("ERROR", "mapping.toml", "", f"cannot be read, column mapping ignored: {error}"))
        return {}, ""
    mapping: dict[str, dict[str, str]] = {}
    for table, columns in parsed.items():
        if table not in CONTRACT:
            findings.append(Finding("WARN", "mapping.toml", table, "unknown table in mapping, ignored"))
            continue
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            findings.append(
                Finding("ERROR", "mapping.toml", table, 'each entry must read canonical_column = "Source column"')
            )
            continue
        unknown = sorted(set(columns) - set(CONTRACT[table].columns))
        for column in unknown:
            findings.append(Finding("WARN", "mapping.toml", f"{table}.{column}", "not a contract column, ignored"))
        mapping[table] = {canonical: source for canonical, source in columns.items() if canonical not in unknown}
    return mapping, text


def export_fingerprint(data_dir: Path | str) -> str:
    """The fingerprint of every export file and mapping.toml under data_dir (cheap: stat calls only)."""
    data_dir = Path(data_dir).expanduser().resolve()
    files: list[Path] = []
    try:
        if data_dir.is_dir():
            for table in CONTRACT:
                files.extend(find_table_files(data_dir, table))
    except OSError:
        pass
    return fingerprint_files(files + [data_dir / "mapping.toml"], extra=str(data_dir))


def fingerprint_files(paths: list[Path], extra: str = "") -> str:
    """A short hash of paths, sizes and modification times: changes whenever an export changes."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        try:
            stat = path.stat()
            digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}|missing\n".encode())
    return digest.hexdigest()[:16]


def _relative(path: Path, data_dir: Path) -> str:
    """A path as the user sees it: relative to the data folder, with forward slashes."""
    try:
        return path.relative_to(data_dir).as_posix()
    except ValueError:
        return str(path)


def _first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an error message, short enough for one finding."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:limit]


def _files_text(paths: list[str], shown: int = 2) -> str:
    """``orders/a.parquet, orders/b.parquet and 3 more``."""
    text = ", ".join(paths[:shown])
    return text + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def _readable_files(
    table: str, files: list[Path], data_dir: Path, findings: list[Finding], unreadable: dict[Path, str],
) -> list[tuple[Path, pq.FileMetaData]]:
    """Open each file's Parquet footer; corrupt, empty or non-Parquet files are reported, recorded in unreadable
    (their table is incomplete) and skipped."""
    readable = []
    for path in files:
        relative = _relative(path, data_dir)
        try:
            if path.stat().st_size == 0:
                reason = "empty (0 bytes)"
                findings.append(Finding("ERROR", table, "", f"file {relative} is {reason}, skipped"))
                unreadable[path] = reason
                continue
            metadata = pq.read_metadata(path)
        except PermissionError:
            reason = "not readable (permission denied)"
            findings.append(Finding("ERROR", table, "", f"file {relative} is {reason}, skipped"))
            unreadable[path] = reason
            continue
        except Exception as error:  # pyarrow raises several types for corrupt files
            reason = _first_line(error)
            findings.append(Finding("ERROR", table, "", f"file {relative} is not readable Parquet, skipped: {reason}"))
            unreadable[path] = reason
            continue
        if metadata.num_rows == 0:
            findings.append(Finding("WARN", table, "", f"file {relative} has no rows"))
        readable.append((path, metadata))
    return readable


def _type_family(arrow_type: pa.DataType) -> str:
    """Types the contract reads alike: every integer, float and decimal is a number, every timestamp a time."""
    if pa.types.is_dictionary(arrow_type):
        return _type_family(arrow_type.value_type)
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return "text"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "timestamp"
    if pa.types.is_null(arrow_type):
        return "null"  # a column with no values at all: compatible with any type
    return str(arrow_type)


def _schema_findings(spec: TableSpec, source: TableSource, readable, data_dir: Path) -> list[Finding]:
    """Columns that differ between the files of one table: read as different kinds, or missing from some files."""
    findings: list[Finding] = []
    if len(readable) < 2:
        return findings
    canonical_of = {column.lower(): canonical for canonical, (column, _, _) in source.columns.items() if column}
    families: dict[str, dict[str, list[str]]] = {}
    files_with: dict[str, set[Path]] = {}
    for path, metadata in readable:
        for arrow_field in metadata.schema.to_arrow_schema():
            family = _type_family(arrow_field.type)
            files_with.setdefault(arrow_field.name.lower(), set()).add(path)
            if family != "null":
                families.setdefault(arrow_field.name, {}).setdefault(family, []).append(_relative(path, data_dir))
    for column, by_family in families.items():
        if len(by_family) > 1:
            described = "; ".join(f"{family} in {_files_text(paths)}" for family, paths in sorted(by_family.items()))
            name = canonical_of.get(column.lower(), column)
            message = f"files have different types for column {column!r}: {described}"
            findings.append(Finding("WARN", spec.name, name, message))
    for column, canonical in canonical_of.items():
        having = files_with.get(column, set())
        lacking = [(path, metadata) for path, metadata in readable if path not in having]
        if having and lacking:  # a column in no file at all is a Hive partition column or reported elsewhere
            rows = sum(metadata.num_rows for _, metadata in lacking)
            paths = [_relative(path, data_dir) for path, _ in lacking]
            message = f"column {source.columns[canonical][0]!r} missing from {_files_text(paths)}, read as empty"
            findings.append(Finding("WARN", spec.name, canonical, message, rows))
    return findings


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT", "DECIMAL")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")

# A text timestamp whose time is followed by a zone: "10:00:00Z", "10:00+02:00", "10:00:00 -0500" (Shopify),
# "10:00 UTC", "10:00 Europe/Berlin". ("10:00 AM" matches too; it then falls through to the formats.)
_TEXT_ZONE_PATTERN = (
    r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]*)?)? ?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z][A-Za-z0-9_/+-]*)$"
)


def conversion_sql(kind: str, source: str, source_type: str) -> str:
    """SQL that turns a source column of a DuckDB type into the canonical kind (NULL when unreadable).

    Example: ``conversion_sql("number", "Total", "VARCHAR")`` reads "$1,234.50" as 1234.5.
    """
    column = quote_identifier(source)
    upper = source_type.upper()
    is_text = upper.startswith("VARCHAR") or upper == "BLOB"
    is_float = upper in _FLOAT_TYPES
    is_number = is_float or upper.startswith(_INTEGER_TYPES)
    if kind == ID:
        if is_number and not is_float and not upper.startswith("DECIMAL"):
            return f"cast({column} as varchar)"
        if is_float:
            # A whole float is written as the integer it holds ("123", never "123.0" or "1.2e+18"): the same
            # text an integer file gives for that id. Other floats keep their decimals.
            return (f"case when not isfinite({column}) then null when {column} = trunc({column}) "
                    f"and abs({column}) < 1e38 then cast(cast({column} as hugeint) as varchar) "
                    f"else cast({column} as varchar) end")
        text = f"trim(cast({column} as varchar))"
        # 123, 123.0 and "123" are one id: a float column, or text unified with one across files, writes 123.0.
        whole = f"regexp_replace({text}, '^(-?[0-9]+)\\.0*$', '\\1')"
        return f"nullif(case when contains({text}, '.') then {whole} else {text} end, '')"
    if kind == TEXT:
        return f"cast({column} as varchar)"
    if kind == NUMBER:
        if is_float:
            return f"case when isfinite({column}) then cast({column} as double) end"
        if is_number:
            return f"cast({column} as double)"
        if is_text:
            return _text_number_sql(f"trim(cast({column} as varchar))")
        return f"try_cast({column} as double)"
    if kind == TIMESTAMP:
        if "WITH TIME ZONE" in upper or upper.startswith("TIMESTAMPTZ"):
            # The UTC wall time of an instant is its epoch microseconds: no time zone lookup per row (a lookup
            # costs about 0.2 s per million rows); only +/-infinity goes through timezone().
            instant = f"cast({column} as timestamptz)"  # TIMESTAMPTZ_NS (pandas' default) to microseconds
            return (f"case when isfinite({instant}) then make_timestamp(epoch_us({instant})) "
                    f"else timezone('UTC', {instant}) end")
        if upper.startswith("TIMESTAMP") or upper == "DATE":
            return f"cast({column} as timestamp)"
        if is_text:
            text = f"trim(cast({column} as varchar))"
            formats = f"try_strptime({text}, [{', '.join(quote_literal(fmt) for fmt in TEXT_TIMESTAMP_FORMATS)}])"
            # DuckDB reads "10:00:00-0500" but not "10:00:00 -0500".
            zoned = f"regexp_replace({text}, ' ([+-][0-9]{{2}}(:?[0-9]{{2}})?)$', '\\1')"
            # A zone is converted to UTC (a cast to timestamp would drop it); text without one is UTC already,
            # whatever the session's zone.
            return (
                f"case when regexp_matches({text}, {quote_literal(_TEXT_ZONE_PATTERN)}) "
                f"then coalesce(timezone('UTC', try_cast({zoned} as timestamptz)), {formats}) "
                f"else coalesce(try_cast({text} as timestamp), {formats}) end"
            )
        if is_number:
            return _epoch_timestamp_sql(column, is_float)
        return f"try_cast({column} as timestamp)"
    if kind == BOOLEAN:
        if upper == "BOOLEAN":
            return column
        return (
            f"case when lower(trim(cast({column} as varchar))) in ('true', 't', 'yes', 'y', '1') then true "
            f"when lower(trim(cast({column} as varchar))) in ('false', 'f', 'no', 'n', '0') then false end"
        )
    raise ValueError(f"unknown column kind {kind}")


def _is_number_type(source_type: str) -> bool:
    """True for DuckDB's integer, decimal and float types."""
    upper = source_type.upper()
    return upper in _FLOAT_TYPES or upper.startswith(_INTEGER_TYPES)


def _epoch_timestamp_sql(column: str, is_float: bool) -> str:
    """Numbers read as time since 1970-01-01 UTC, in the unit their size says: below 1e11 seconds (up to the year
    5138), below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds. For dates after 1973 the ranges do
    not overlap, so one column may even mix units; anything outside the years 1-9999 is unreadable (NULL)."""
    size = f"abs({column})"
    microseconds = (f"case when {size} < 1e11 then {column} * 1e6 when {size} < 1e14 then {column} * 1e3 "
                    f"when {size} < 1e17 then {column} else {column} / 1e3 end")
    if not is_float:
        microseconds = f"cast({microseconds} as double)"
    return (f"case when isfinite(cast({column} as double)) and {microseconds} between "
            f"{_EARLIEST_SECOND}e6 and {_LATEST_SECOND}e6 then make_timestamp(cast({microseconds} as bigint)) end")


# Characters that mean a minus sign in exported amounts: U+2212 MINUS SIGN, the dashes (figure, en, em),
# the small and fullwidth hyphen-minus. Fullwidth digits are read as digits.
_MINUS_SIGNS = "\u2212\u2012\u2013\u2014\ufe63\uff0d"
_FULLWIDTH_DIGITS = "".join(chr(0xFF10 + digit) for digit in range(10))
# A score written as a fraction: "9/10", " 4 / 5 ". The denominator says which scale it is on.
_FRACTION_PATTERN = r"\s*([0-9]+([.,][0-9]+)?)\s*/\s*([0-9]+)\s*"
FRACTION_SCALES = (5, 10)


def _normalised_number_text(text: str) -> str:
    """The text with every minus-like character a "-" and fullwidth digits ASCII."""
    return (f"translate({text}, {quote_literal(_MINUS_SIGNS + _FULLWIDTH_DIGITS)}, "
            f"{quote_literal('-' * len(_MINUS_SIGNS) + '0123456789')})")


def fraction_denominator_sql(text: str) -> str:
    """The denominator of a number written "n/d" (an integer), NULL for any other text."""
    return (f"case when regexp_full_match({text}, {quote_literal(_FRACTION_PATTERN)}) "
            f"then try_cast(regexp_extract({text}, {quote_literal(_FRACTION_PATTERN)}, 3) as integer) end")


def _text_number_sql(text: str) -> str:
    """Numbers written as text: "12.5", "$1,234.50", "1.234,50 €", "12,50", "n/a" (NULL), and negatives written
    "−12.50" (U+2212 or a dash), "(12.00)", "$(1,234.50)", "USD (12.00)" or "12.50-".

    Plain numbers are read as they are (NaN and infinity are NULL). Otherwise currency signs, letters and
    spaces are dropped; a comma is a thousands separator in "1,234" and "1,234.50", a decimal comma in
    "12,50" and "1.234,50". A number in parentheses or followed by a minus is negative. "9/10" and "4/5" are
    read as their numerator (a score on a 10- or 5-point scale); any other text with a "/" is not a number
    (read as empty), so "1/2" never becomes 12.
    """
    text = _normalised_number_text(text)
    plain = f"try_cast({text} as double)"
    numerator = f"regexp_extract({text}, {quote_literal(_FRACTION_PATTERN)}, 1)"
    fraction = (f"case when {fraction_denominator_sql(text)} in ({', '.join(map(str, FRACTION_SCALES))}) "
                f"then try_cast(replace({numerator}, ',', '.') as double) end")
    digits = f"regexp_replace(regexp_replace({text}, '[^0-9.,-]', '', 'g'), '-$', '')"
    separators = (
        f"case when regexp_full_match({digits}, '-?[0-9]{{1,3}}(,[0-9]{{3}})+([.][0-9]+)?') "
        f"then replace({digits}, ',', '') "
        f"when regexp_full_match({digits}, '-?[0-9]{{1,3}}([.][0-9]{{3}})+,[0-9]+') "
        f"then replace(replace({digits}, '.', ''), ',', '.') "
        f"when regexp_full_match({digits}, '-?[0-9]+,[0-9]{{1,2}}') then replace({digits}, ',', '.') "
        f"else {digits} end"
    )
    amount = f"try_cast(nullif({separators}, '') as double)"
    # "(12.00)", "$(1,234.50)", "USD (12.00)": parentheses around the digits; "12.50-": a trailing minus.
    is_negative = (f"(regexp_matches({text}, '[(][^()]*[0-9][^()]*[)]') "
                   f"or regexp_matches({text}, '[0-9.,][^0-9]*-$'))")
    return (
        f"case when {plain} is not null then (case when isfinite({plain}) then {plain} end) "
        f"when contains({text}, '/') then {fraction} "
        f"when {is_negative} then -abs({amount}) "
        f"else {amount} end"
    )


def _empty_view_sql(spec: TableSpec) -> str:
    """A view with the canonical columns and no rows."""
    columns = ", ".join(f"cast(null as {DUCKDB_TYPE[kind]}) as {quote_identifier(name)}"
                        for name, kind in spec.columns.items())
    return f"select {columns} where false"


def _data_folder_problem(data_dir: Path) -> str | None:
    """Why the data folder cannot be read, or None when it can be listed."""
    try:
        if not data_dir.exists():
            return f"data folder {data_dir} does not exist"
        if not data_dir.is_dir():
            return f"data folder {data_dir} is not a folder"
        with os.scandir(data_dir) as entries:
            next(entries, None)
    except OSError as error:
        return f"data folder {data_dir} is not readable ({error.strerror or error})"
    return None


def register_sources(con: duckdb.DuckDBPyConnection, data_dir: Path | str, decode: bool = True) -> Catalog:
    """Find the exports under data_dir and create the ``raw_<table>`` and ``<table>`` views on con.

    The files of a table are read in groups that share one layout (the same columns with the same kinds of
    types, under the same partition folders), each group converted to the contract's types on its own schema,
    and the groups' rows put together: files that cannot be read together (an integer id file beside a float
    one, epoch numbers beside timestamps, a stray file beside ``year=`` folders) are each read as they are.

    With ``decode`` every used column of every file is read once, so a file whose footer is fine but whose
    data cannot be decoded is found now: its rows are kept when only some values are unreadable (text that is
    not UTF-8, dates beyond DuckDB's range: those values are read as empty and reported), else the file is
    reported and left out, and its table is incomplete. Without ``decode`` only footers and schemas are read:
    for a caller that reads all rows right after (``Database.open`` materialises them) and registers again with
    ``decode=True`` only when that read fails, so the exports are not scanned twice.

    Sets the session time zone to UTC: files that mix naive and zone-aware timestamps are unified in it,
    and the contract takes naive timestamps as UTC.
    Example: ``catalog = register_sources(con, "data/demo"); con.sql("select count(*) from orders")``.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    con.execute("set TimeZone = 'UTC'")
    findings: list[Finding] = []
    tables: dict[str, TableSource] = {}
    mapping: dict[str, dict[str, str]] = {}
    mapping_text = ""
    folder_problem = _data_folder_problem(data_dir)
    if folder_problem:
        findings.append(Finding("ERROR", "data", "", folder_problem))
    else:
        mapping, mapping_text = read_mapping(data_dir, findings)
    for spec in CONTRACT.values():
        source = TableSource(spec.name, mapping=mapping.get(spec.name, {}), kinds=dict(spec.columns))
        tables[spec.name] = source
        view_sql = None
        if folder_problem is None:
            view_sql = _register_table(con, spec, source, data_dir, findings, decode)
        con.execute(f"create or replace view {spec.name} as {view_sql or _empty_view_sql(spec)}")
    return Catalog(data_dir, tables, findings, export_fingerprint(data_dir), mapping_text)


def _register_table(con, spec: TableSpec, source: TableSource, data_dir: Path, findings: list[Finding],
                    decode: bool = True) -> str | None:
    """Create ``raw_<table>`` over the readable files; return the canonical SELECT, or None if unusable.

    Files that cannot be decoded are rescued (``_rescue_file``) or left out and recorded in
    ``source.unreadable``, which makes the table incomplete.
    """
    try:
        files = find_table_files(data_dir, spec.name)
    except OSError as error:
        where = _relative(Path(error.filename), data_dir) if error.filename else spec.name
        message = f"folder {where} is not readable ({error.strerror or error}); table not used"
        findings.append(Finding("ERROR", spec.name, "", message))
        return None
    if not files:
        level = "ERROR" if spec.is_required else "INFO"
        what = "required table not found" if spec.is_required else "optional table not exported"
        findings.append(Finding(level, spec.name, "", f"{what} (expected {spec.name}.parquet or {spec.name}/)"))
        return None
    readable = _readable_files(spec.name, files, data_dir, findings, source.unreadable)
    rescued: list[FileGroup] = []
    while readable or rescued:
        source.files = sorted([path for path, _ in readable] + [group.files[0] for group in rescued])
        groups = _file_groups(spec.name, readable, data_dir) + rescued
        try:
            select_sql, table_findings = _create_views(con, spec, source, groups, data_dir)
            if select_sql is not None and decode:
                for group in groups:
                    if not group.is_rescued:
                        used = [column for column, _, _ in group.columns.values() if column]
                        con.execute(_decode_all_sql(group.relation, used)).fetchall()
        except duckdb.Error as error:
            broken = _undecodable_files(con, [path for path, _ in readable], data_dir)
            if not broken:
                findings.append(
                    Finding("ERROR", spec.name, "", f"files cannot be read together: {_first_line(error, 200)}")
                )
                break
            for path, reason in broken.items():
                group = _rescue_file(con, spec.name, path, data_dir, len(rescued), findings)
                if group is not None:
                    rescued.append(group)
                    continue
                findings.append(Finding("ERROR", spec.name, "",
                                        f"file {_relative(path, data_dir)} is not readable Parquet, skipped: {reason}"))
                source.unreadable[path] = reason
            readable = [(path, metadata) for path, metadata in readable if path not in broken]
            continue
        findings.extend(table_findings)
        findings.extend(_schema_findings(spec, source, readable, data_dir))
        findings.extend(_partition_findings(spec, source, groups, data_dir))
        source.groups = groups
        source.is_usable = select_sql is not None
        return select_sql
    # Nothing could be read: keep the files found, so the table shows as unusable rather than not exported.
    source.files, source.row_count, source.columns, source.groups = files, 0, {}, []
    return None


# The column read_parquet names each row's file in, for partition values taken from folder names.
_FILE_COLUMN = "__dashboard_source_file"


@dataclass
class FileGroup:
    """Files of one table read together: the same columns with the same kinds of types, the same partition
    folders. ``relation`` is what a query reads them from; ``columns`` maps each canonical column to
    (source column or None, its DuckDB type or None, the SQL that converts it) for this group's types."""

    files: list[Path]
    relation: str
    row_count: int
    partition_keys: tuple[str, ...] = ()
    shadowed_keys: tuple[str, ...] = ()  # partition folders named like one of the files' own columns
    is_rescued: bool = False  # a file DuckDB could not decode, read by pyarrow into a table in memory
    types: dict[str, str] = field(default_factory=dict)
    columns: dict[str, tuple[str | None, str | None, str]] = field(default_factory=dict)
    header_condition: str = "false"


def _partition_keys(path: Path, data_dir: Path, table: str) -> list[tuple[str, str]]:
    """(key, value) of each ``key=value`` folder between ``<table>/`` and the file."""
    parts = path.relative_to(data_dir).parts
    folders = parts[1:-1] if parts and parts[0] == table else ()
    return [tuple(part.split("=", 1)) for part in folders if "=" in part and not part.startswith("=")]


def _layout(metadata: pq.FileMetaData) -> frozenset:
    """What decides whether files can be read together: each column's name (any case) and kind of type."""
    return frozenset((arrow_field.name.lower(), _read_family(arrow_field.type))
                     for arrow_field in metadata.schema.to_arrow_schema())


def _read_family(arrow_type: pa.DataType) -> str:
    """Types DuckDB unifies without losing a value: integers with integers, floats with floats, and so on."""
    if pa.types.is_dictionary(arrow_type):
        return _read_family(arrow_type.value_type)
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp with zone" if arrow_type.tz else "timestamp"
    return _type_family(arrow_type)


def _file_groups(table: str, readable: list, data_dir: Path) -> list[FileGroup]:
    """The readable files of a table in groups that DuckDB reads together without losing a value."""
    by_layout: dict[tuple, list[tuple[Path, pq.FileMetaData]]] = {}
    for path, metadata in readable:
        keys = tuple(key for key, _ in _partition_keys(path, data_dir, table))
        by_layout.setdefault((keys, _layout(metadata)), []).append((path, metadata))
    groups = []
    for (keys, layout), members in by_layout.items():
        files = [path for path, _ in members]
        own_columns = {name for name, _ in layout}
        shadowed = tuple(key for key in keys if key.lower() in own_columns)
        groups.append(FileGroup(files, _group_relation(files, keys, shadowed), sum(m.num_rows for _, m in members),
                                keys, shadowed))
    return sorted(groups, key=lambda group: group.files[0])


def _group_relation(files: list[Path], keys: tuple[str, ...], shadowed: tuple[str, ...]) -> str:
    """read_parquet over one group's files. Partition folders add their columns, but never replace a column the
    files have: then the files' values are read and the other keys come from the file's path."""
    paths = ", ".join(quote_literal(str(path)) for path in files)
    if not shadowed:
        return (f"read_parquet([{paths}], union_by_name = true, "
                f"hive_partitioning = {'true' if keys else 'false'})")
    added = [f"url_decode(regexp_extract({_FILE_COLUMN}, {quote_literal('/' + re.escape(key) + '=([^/]*)/')}, 1)) "
             f"as {quote_identifier(key)}" for key in keys if key not in shadowed]
    columns = ", ".join([f"* exclude ({_FILE_COLUMN})", *added])
    return (f"(select {columns} from read_parquet([{paths}], union_by_name = true, hive_partitioning = false, "
            f"filename = {quote_literal(_FILE_COLUMN)}))")


def _partition_findings(spec: TableSpec, source: TableSource, groups: list[FileGroup],
                        data_dir: Path) -> list[Finding]:
    """A WARN for each partition key whose folders are named like a column the files have."""
    findings = []
    shadowing: dict[str, set[str]] = {}
    for group in groups:
        for key in group.shadowed_keys:
            for path in group.files:
                parts = path.relative_to(data_dir).parts
                index = next(i for i, part in enumerate(parts) if part.split("=", 1)[0] == key and "=" in part)
                shadowing.setdefault(key, set()).add("/".join(parts[: index + 1]) + "/")
    canonical_of = {column.lower(): canonical for canonical, (column, _, _) in source.columns.items() if column}
    for key, folders in sorted(shadowing.items()):
        message = (f"partition folder {_files_text(sorted(folders))} is named like the files' own column {key!r}: "
                   "the files' values are read, not the folder's")
        findings.append(Finding("WARN", spec.name, canonical_of.get(key.lower(), key), message))
    return findings


def _create_views(con, spec: TableSpec, source: TableSource, groups: list[FileGroup], data_dir: Path):
    """Resolve the canonical columns in every group, create ``raw_<table>`` and return the canonical SELECT (None if
    the table is unusable) with the findings about its columns.

    ``raw_<table>`` has one row per source row: the canonical columns, and for the checks, per canonical column
    ``is_unreadable_<column>`` (a value is there but cannot be read as its kind) with ``unreadable_<column>`` (that
    value as text, cut to 40 characters; cast only on such rows), ``is_imprecise_<id column>`` (a float id of
    2**53 or more) and ``is_header_row`` (the row repeats the column names).
    """
    for group in groups:
        group.types = {row[0]: row[1] for row in con.execute(f"describe select * from {group.relation}").fetchall()}
    source.row_count = sum(group.row_count for group in groups)
    select_sql, findings = _canonical_columns(con, spec, source, groups, data_dir)
    raw_parts, canonical_parts = [], []
    for group in groups:
        # quoted: a canonical name can be an SQL keyword (campaigns' "group")
        canonical = [f"{expression} as {quote_identifier(name)}" for name, (_, _, expression) in group.columns.items()]
        inner = canonical + [f"{quote_identifier(column)} as source_{name}"
                             for name, (column, _, _) in group.columns.items() if column]
        inner += [f"{group.header_condition} as is_header_row"]
        inner += [f"{_beyond_float_precision_sql(column, column_type)} as is_imprecise_{name}"
                  for name, (column, column_type, _) in group.columns.items() if spec.columns[name] == ID]
        outer = [quote_identifier(name) for name in spec.columns] + ["is_header_row"] + [f"is_imprecise_{name}" for name, kind in spec.columns.items()
                                                          if kind == ID]
        for name, (column, column_type, _) in group.columns.items():
            if column is None:
                outer += [f"false as is_unreadable_{name}", f"cast(null as varchar) as unreadable_{name}"]
                continue
            unreadable = f"source_{name} is not null and {quote_identifier(name)} is null"
            if column_type.upper().startswith("VARCHAR"):
                unreadable += f" and trim(source_{name}) <> ''"  # blank text is missing, not unreadable
            outer += [f"{unreadable} as is_unreadable_{name}",
                      f"case when {unreadable} then left(try_cast(source_{name} as varchar), 40) end "
                      f"as unreadable_{name}"]
        raw_parts.append(f"select {', '.join(outer)} from (select {', '.join(inner)} from {group.relation})")
        canonical_parts.append(f"select {', '.join(canonical)} from {group.relation}"
                               + (f" where not ({group.header_condition})" if group.header_condition != "false"
                                  else ""))
    con.execute(f"create or replace view raw_{spec.name} as {' union all '.join(raw_parts)}")
    return (" union all ".join(canonical_parts) if select_sql else None), findings


# 2**53: from here on a float cannot hold every whole number, so an id stored as one may have lost digits.
FLOAT_EXACT_LIMIT = 2**53


def _beyond_float_precision_sql(column: str | None, column_type: str | None) -> str:
    """SQL that is true where a float id column holds a value of 2**53 or more (always false for other types)."""
    if column is None or column_type.upper() not in _FLOAT_TYPES:
        return "false"
    return f"coalesce(abs({quote_identifier(column)}) >= {FLOAT_EXACT_LIMIT}, false)"


def _decode_all_sql(relation: str, columns: list[str]) -> str:
    """A query that decodes every value of the columns (a plain count would be answered from the footer)."""
    hashed = ", ".join(quote_identifier(column) for column in columns)
    return f"select count(*) filter (where hash({hashed}) = 0) from {relation}" if columns else "select 1"


def _undecodable_files(con, files: list[Path], data_dir: Path) -> dict[Path, str]:
    """Files whose data cannot be decoded, each with the reason: every column of every row is read."""
    broken = {}
    for path in files:
        try:
            scan = f"read_parquet([{quote_literal(str(path))}])"
            columns = [row[0] for row in con.execute(f"describe select * from {scan}").fetchall()]
            con.execute(_decode_all_sql(scan, columns)).fetchall()
        except duckdb.Error as error:
            broken[path] = _first_line(error).replace(str(data_dir) + os.sep, "")
    return broken


# Timestamps DuckDB and Python both hold: the years 1 to 9999, in seconds since 1970.
_EARLIEST_SECOND, _LATEST_SECOND = -62_135_596_800, 253_402_300_799
_UNITS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _rescue_file(con, table: str, path: Path, data_dir: Path, number: int,
                 findings: list[Finding]) -> FileGroup | None:
    """Read a file DuckDB cannot decode with pyarrow instead, when only some values are the trouble: text that
    is not UTF-8 (read as empty) and timestamps beyond the years 1-9999 (read as empty). The file's rows go to
    an in-memory table ``rescued_<table>_<n>``, and a WARN names each such column and counts its values.

    None when pyarrow cannot read the file either, or another column is what fails: the file is left out.
    """
    try:
        arrow_table = pq.read_table(path)
    except Exception:  # pyarrow raises several types for corrupt files
        return None
    scan = f"read_parquet([{quote_literal(str(path))}])"
    broken = []
    for name in arrow_table.column_names:
        try:
            con.execute(_decode_all_sql(scan, [name])).fetchall()
        except duckdb.Error:
            broken.append(name)
    repairs: dict[str, tuple[str, str, str]] = {}  # column -> (SQL of the repaired value, what was wrong, example)
    for name in broken:
        column_type = arrow_table.schema.field(name).type
        index = arrow_table.schema.get_field_index(name)
        if pa.types.is_string(column_type) or pa.types.is_large_string(column_type):
            arrow_table = arrow_table.set_column(index, name, arrow_table.column(name).cast(pa.binary()))
            repairs[name] = (f"try(decode({quote_identifier(name)}))", "are not UTF-8 text", "")
        elif pa.types.is_timestamp(column_type):
            arrow_table = arrow_table.set_column(index, name, arrow_table.column(name).cast(pa.int64()))
            per_second = _UNITS_PER_SECOND[column_type.unit]
            value = quote_identifier(name)
            repaired = (f"case when {value} between {_EARLIEST_SECOND * per_second} and {_LATEST_SECOND * per_second} "
                        f"then make_timestamp(cast({value} // {per_second} as bigint) * 1000000 "
                        f"+ cast(({value} % {per_second}) * 1000000 // {per_second} as bigint)) end")
            example = f"'year ' || cast(1970 + cast(min({value}) filter (where ({repaired}) is null) / " \
                      f"({per_second} * 31556952.0) as bigint) as varchar)"
            repairs[name] = (repaired, "are dates beyond the years 1-9999", example)
        else:
            return None
    if not repairs:
        return None
    view = f"rescue_source_{table}_{number}"
    target = f"memory.main.rescued_{table}_{number}"
    con.register(view, arrow_table)
    try:
        columns = [repairs[name][0] + f" as {quote_identifier(name)}" if name in repairs else quote_identifier(name)
                   for name in arrow_table.column_names]
        columns += [f"{quote_literal(value)} as {quote_identifier(key)}"
                    for key, value in _partition_keys(path, data_dir, table)
                    if key.lower() not in {name.lower() for name in arrow_table.column_names}]
        counts = ", ".join(f"count(*) filter (where {quote_identifier(name)} is not null and ({sql}) is null), "
                           f"{example or 'null'}" for name, (sql, _, example) in repairs.items())
        values = con.execute(f"select {counts} from {view}").fetchone()
        con.execute(f"create or replace table {target} as select {', '.join(columns)} from {view}")
    finally:
        con.unregister(view)
    relative = _relative(path, data_dir)
    for index, (name, (_, what, _)) in enumerate(repairs.items()):
        count, example = values[2 * index], values[2 * index + 1]
        if count:
            example_text = f" (e.g. {example})" if example else ""
            findings.append(Finding("WARN", table, name, f"values in column {name!r} of {relative} {what}"
                                    f"{example_text}, read as empty", count))
    return FileGroup([path], target, arrow_table.num_rows, is_rescued=True)


def _canonical_columns(con, spec: TableSpec, source: TableSource, groups: list[FileGroup], data_dir: Path):
    """Resolve every canonical column in every group; the findings about them, and the canonical SELECT's
    presence (a non-None marker) when every required column can be read in some group, else None.

    A column is found by its mapped name, else by its canonical name (in any case). A source column that two
    contract columns would read (``mapping.toml`` mapping both to it) is read by neither, and a column whose type
    cannot hold the kind (true/false as a number, a list as text) is not read.
    """
    findings: list[Finding] = []
    names = {}
    for group in groups:
        names.update({name.lower(): name for name in group.types})
    found_any = {canonical: names.get(source.mapping.get(canonical, canonical).lower())
                 for canonical in spec.columns}
    readers: dict[str, list[str]] = {}
    for canonical, column in found_any.items():
        if column is not None:
            readers.setdefault(column.lower(), []).append(canonical)
    shared = {canonical for both in readers.values() if len(both) > 1 for canonical in both}
    for both in readers.values():
        if len(both) > 1:
            consequence = "; table not used" if set(both) & set(spec.required_columns) else ", read as empty"
            findings.append(Finding(
                "ERROR", spec.name, "",
                f"mapping.toml maps {' and '.join(both)} to the same column {found_any[both[0]]!r}: one column "
                f"cannot be both, so neither is read{consequence}", source.row_count))
    problems: dict[tuple[str, str, str], list[FileGroup]] = {}  # (canonical, column, problem) -> groups
    for group in groups:
        lowered = {name.lower(): name for name in group.types}
        group.columns = {}
        for canonical, kind in spec.columns.items():
            column = None if canonical in shared else _find_column(
                source.mapping.get(canonical, canonical), group.types, lowered)
            problem = None if column is None else _type_problem(kind, group.types[column])
            if column is None or problem:
                if problem:
                    problems.setdefault((canonical, column, f"({group.types[column]}) {problem}"), []).append(group)
                group.columns[canonical] = (None, None, f"cast(null as {DUCKDB_TYPE[kind]})")
                continue
            expression = _scaled_score_sql(spec, group, canonical, column, group.types[column],
                                           conversion_sql(kind, column, group.types[column]))
            group.columns[canonical] = (column, group.types[column], expression)
        read = [canonical for canonical, (column, _, _) in group.columns.items() if column]
        if not _binds(con, group.relation, [group.columns[canonical][2] for canonical in read]):
            for canonical in read:  # only then is each column tried alone
                column, column_type, expression = group.columns[canonical]
                if not _binds(con, group.relation, [expression]):
                    kind = spec.columns[canonical]
                    problems.setdefault((canonical, column, f"({column_type}) cannot be read as {kind}"),
                                        []).append(group)
                    group.columns[canonical] = (None, None, f"cast(null as {DUCKDB_TYPE[kind]})")
        group.header_condition = _header_condition(group)
    source.columns = _representative_columns(spec, groups)
    for canonical, kind in spec.columns.items():
        epoch = [group for group in groups if kind == TIMESTAMP and group.columns[canonical][0]
                 and _is_number_type(group.columns[canonical][1])]
        if epoch:
            column, column_type, _ = epoch[0].columns[canonical]
            where = "" if len(epoch) == len(groups) else \
                f" in {_files_text([_relative(path, data_dir) for group in epoch for path in group.files])}"
            findings.append(Finding("INFO", spec.name, canonical, f"column {column!r} ({column_type}){where} holds "
                                    "numbers: read as time since 1970-01-01 UTC, in seconds, milliseconds, "
                                    "microseconds or nanoseconds by their size"))
    missing_required = []
    for canonical, kind in spec.columns.items():
        is_required = canonical in spec.required_columns
        is_read = source.columns[canonical][0] is not None
        consequence = "; table not used" if is_required and not is_read else (
            ", rows left out" if is_required else ", read as empty")
        for (name, column, problem), in_groups in problems.items():
            if name != canonical:
                continue
            where = "" if len(in_groups) == len(groups) else \
                f" in {_files_text([_relative(p, data_dir) for g in in_groups for p in g.files])}"
            level = "ERROR" if is_required and not is_read or "cannot be read" in problem else "WARN"
            rows = sum(group.row_count for group in in_groups)
            findings.append(Finding(level, spec.name, canonical, f"column {column!r}{where} {problem}{consequence}",
                                    rows))
        if canonical in shared or is_read or any(name == canonical for name, _, _ in problems):
            if is_required and not is_read:
                missing_required.append(canonical)
            continue
        mapped = source.mapping.get(canonical)
        if mapped is not None:
            message = f"mapping.toml maps it to column {mapped!r}, which {source.location} does not have{consequence}"
            findings.append(Finding("ERROR", spec.name, canonical, message, source.row_count))
        elif is_required:
            findings.append(Finding("ERROR", spec.name, canonical,
                                    f"required column missing from {source.location}; table not used",
                                    source.row_count))
        if is_required:
            missing_required.append(canonical)
    return (None if missing_required else "select"), findings


def _representative_columns(spec: TableSpec, groups: list[FileGroup]) -> dict[str, tuple[str | None, str | None, str]]:
    """Per canonical column, the source column read (the first group's that has it), its types across the groups
    (``BIGINT, DOUBLE`` when they differ) and the first group's expression; (None, None, NULL) when none reads it."""
    columns = {}
    for canonical, kind in spec.columns.items():
        read = [group.columns[canonical] for group in groups if group.columns[canonical][0] is not None]
        if not read:
            columns[canonical] = (None, None, f"cast(null as {DUCKDB_TYPE[kind]})")
            continue
        types = ", ".join(dict.fromkeys(column_type for _, column_type, _ in read))
        columns[canonical] = (read[0][0], types, read[0][2])
    return columns


def _header_condition(group: FileGroup) -> str:
    """SQL that is true on a row repeating the column names (a CSV header copied into the data), when at least two
    text columns are read; else ``false``."""
    text_columns = [column for column, column_type, _ in group.columns.values()
                    if column and column_type.upper().startswith("VARCHAR")]
    if len(set(text_columns)) < 2:
        return "false"
    return " and ".join(f"coalesce(lower(trim({quote_identifier(column)})) = {quote_literal(column.lower())}, false)"
                        for column in dict.fromkeys(text_columns))


# A score written as a fraction must be on its survey's scale: "9/10" for NPS, "4/5" for CSAT.
SCORE_SCALES = {"nps": 10, "csat": 5}


def _scaled_score_sql(spec: TableSpec, group: FileGroup, canonical: str, column: str, column_type: str,
                      expression: str) -> str:
    """surveys.score read as text: a fraction whose denominator is not its survey's scale is not a score (NULL)."""
    kind_column = group.columns.get("kind", (None,))[0]
    if (spec.name, canonical) != ("surveys", "score") or not kind_column:
        return expression
    if not column_type.upper().startswith("VARCHAR"):
        return expression
    denominator = fraction_denominator_sql(_normalised_number_text(f"trim({quote_identifier(column)})"))
    kind = f"lower(trim(cast({quote_identifier(kind_column)} as varchar)))"
    scales = " ".join(f"when {quote_literal(name)} then {scale}" for name, scale in SCORE_SCALES.items())
    return (f"case when {denominator} is not null and {denominator} is distinct from (case {kind} {scales} end) "
            f"then null else {expression} end")


_NESTED_TYPE_NAMES = {"STRUCT": "structs (nested fields)", "MAP": "maps (key-value pairs)",
                      "UNION": "unions of several types"}


def _type_problem(kind: str, source_type: str) -> str | None:
    """Why a column of a DuckDB type cannot be read as a canonical kind ("holds true/false, not a number"),
    or None when it can. Lists, structs and maps are never one value; true/false is only a boolean or text."""
    upper = source_type.upper()
    wanted = {ID: "an id", TEXT: "text", TIMESTAMP: "a timestamp", NUMBER: "a number", BOOLEAN: "true/false"}[kind]
    if upper.endswith("]"):
        return f"holds lists, not {wanted}"
    for prefix, described in _NESTED_TYPE_NAMES.items():
        if upper.startswith(prefix):
            return f"holds {described}, not {wanted}"
    if upper == "BOOLEAN" and kind in (ID, NUMBER, TIMESTAMP):
        return f"holds true/false, not {wanted}"
    if (upper.startswith(("TIMESTAMP", "DATE", "TIME")) or upper == "INTERVAL") and kind in (ID, NUMBER, BOOLEAN):
        return f"holds {'durations' if upper == 'INTERVAL' else 'dates or times'}, not {wanted}"
    return None


def _find_column(wanted: str, source_types: dict[str, str], lowered: dict[str, str]) -> str | None:
    """The source column named wanted: exactly, else in any case."""
    return wanted if wanted in source_types else lowered.get(wanted.lower())


def _binds(con, relation: str, expressions: list[str]) -> bool:
    """True when DuckDB accepts the expressions over a relation (no row is read)."""
    try:
        con.execute(f"select {', '.join(expressions) or '1'} from {relation} limit 0")
    except duckdb.Error:
        return False
    return True


def normalise_free_text(connection, target: str, table: str) -> None:
    """Rewrite the free-text columns (``FREE_TEXT_COLUMNS``) of a clean table in NFKC, without invisible format
    characters (zero-width spaces and joiners, soft hyphens): ``ｊｏｓé＠ｅｘａｍｐｌｅ．ｃｏｍ`` becomes
    ``josé@example.com`` and ``０２０\u00a07946`` becomes ``020 7946``, so the masking patterns see one form.

    DuckDB has no NFKC function, so the rows with any non-ASCII character (ASCII text is NFKC already) are
    normalised by Arrow (utf8proc) and written back by rowid. ``target`` is ``<catalog>.main.clean_<table>``.
    """
    for column in FREE_TEXT_COLUMNS.get(table, ()):
        name = quote_identifier(column)
        rows = connection.sql(
            f"select rowid as row_id, {name} as value from {target} where regexp_matches({name}, '[^\\x00-\\x7F]')"
        ).to_arrow_table()
        if rows.num_rows == 0:
            continue
        value = pc.replace_substring_regex(pc.utf8_normalize(rows.column("value"), "NFKC"), r"\p{Cf}", "")
        changed = pc.not_equal(value, rows.column("value"))
        normalised = pa.table({"row_id": rows.column("row_id"), "value": value}).filter(changed)
        if normalised.num_rows == 0:
            continue
        connection.register("normalised_free_text", normalised)
        try:
            connection.execute(f"update {target} set {name} = normalised_free_text.value from normalised_free_text "
                               f"where {target}.rowid = normalised_free_text.row_id")
        finally:
            connection.unregister("normalised_free_text")
