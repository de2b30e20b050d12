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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.checks import Finding

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
            },
            ("ticket_id", "customer_id", "opened_at", "resolved_at", "category"),
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


@dataclass
class TableSource:
    """What was found for one contract table and how its canonical view reads it."""

    name: str
    files: list[Path] = field(default_factory=list)  # the files read; the files found when none can be read
    row_count: int = 0
    is_usable: bool = False
    # canonical column -> (source column or None, source DuckDB type or None, SQL expression)
    columns: dict[str, tuple[str | None, str | None, str]] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)

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
    table: str, files: list[Path], data_dir: Path, findings: list[Finding],
) -> list[tuple[Path, pq.FileMetaData]]:
    """Open each file's Parquet footer; corrupt, empty or non-Parquet files are reported and skipped."""
    readable = []
    for path in files:
        relative = _relative(path, data_dir)
        try:
            if path.stat().st_size == 0:
                findings.append(Finding("ERROR", table, "", f"file {relative} is empty (0 bytes), skipped"))
                continue
            metadata = pq.read_metadata(path)
        except PermissionError:
            findings.append(
                Finding("ERROR", table, "", f"file {relative} is not readable (permission denied), skipped")
            )
            continue
        except Exception as error:  # pyarrow raises several types for corrupt files
            findings.append(
                Finding("ERROR", table, "", f"file {relative} is not readable Parquet, skipped: {_first_line(error)}")
            )
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
        text = f"case when isfinite({column}) then cast({column} as varchar) end" if is_float else (
            f"trim(cast({column} as varchar))"
        )
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
        return f"try_cast({column} as timestamp)"
    if kind == BOOLEAN:
        if upper == "BOOLEAN":
            return column
        return (
            f"case when lower(trim(cast({column} as varchar))) in ('true', 't', 'yes', 'y', '1') then true "
            f"when lower(trim(cast({column} as varchar))) in ('false', 'f', 'no', 'n', '0') then false end"
        )
    raise ValueError(f"unknown column kind {kind}")


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
    columns = ", ".join(f"cast(null as {DUCKDB_TYPE[kind]}) as {name}" for name, kind in spec.columns.items())
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

    With ``decode`` every used column of every file is read once, so a file whose footer is fine but whose
    data is corrupt is found, reported and left out now. Without it only footers and schemas are read: for a
    caller that reads all rows right after (``Database.open`` materialises them) and registers again with
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
        source = TableSource(spec.name, mapping=mapping.get(spec.name, {}))
        tables[spec.name] = source
        view_sql = None
        if folder_problem is None:
            view_sql = _register_table(con, spec, source, data_dir, findings, decode)
        con.execute(f"create or replace view {spec.name} as {view_sql or _empty_view_sql(spec)}")
    return Catalog(data_dir, tables, findings, export_fingerprint(data_dir), mapping_text)


def _register_table(con, spec: TableSpec, source: TableSource, data_dir: Path, findings: list[Finding],
                    decode: bool = True) -> str | None:
    """Create ``raw_<table>`` over the readable files; return the canonical SELECT, or None if unusable.

    Every used column is read once here, so a file whose footer is fine but whose data is corrupt is
    found now, reported and left out, instead of failing a page later.
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
    readable = _readable_files(spec.name, files, data_dir, findings)
    while readable:
        source.files = [path for path, _ in readable]
        try:
            source_types = _create_raw_view(con, spec.name, source.files, data_dir)
            source.row_count = con.execute(f"select count(*) from raw_{spec.name}").fetchone()[0]
            select_sql, table_findings = _canonical_select(con, spec, source, source_types)
            if select_sql is not None and decode:
                used = [column for column, _, _ in source.columns.values() if column]
                con.execute(_decode_all_sql(f"raw_{spec.name}", used)).fetchall()
        except duckdb.Error as error:
            corrupt = _corrupt_files(con, source.files, data_dir)
            for path, reason in corrupt.items():
                findings.append(
                    Finding("ERROR", spec.name, "",
                            f"file {_relative(path, data_dir)} is not readable Parquet, skipped: {reason}")
                )
            if not corrupt:
                findings.append(
                    Finding("ERROR", spec.name, "", f"files cannot be read together: {_first_line(error, 200)}")
                )
                break
            readable = [(path, metadata) for path, metadata in readable if path not in corrupt]
            continue
        findings.extend(table_findings)
        findings.extend(_schema_findings(spec, source, readable, data_dir))
        source.is_usable = select_sql is not None
        return select_sql
    # Nothing could be read: keep the files found, so the table shows as unusable rather than not exported.
    source.files, source.row_count, source.columns = files, 0, {}
    return None


def _create_raw_view(con, table: str, files: list[Path], data_dir: Path) -> dict[str, str]:
    """``raw_<table>`` over the files (columns matched by name); return each column's DuckDB type."""
    paths = ", ".join(quote_literal(str(path)) for path in files)
    is_partitioned = any("=" in part for path in files for part in path.relative_to(data_dir).parts[:-1])
    con.execute(
        f"create or replace view raw_{table} as select * from read_parquet([{paths}], "
        f"union_by_name = true, hive_partitioning = {str(is_partitioned).lower()})"
    )
    return {row[0]: row[1] for row in con.execute(f"describe raw_{table}").fetchall()}


def _decode_all_sql(relation: str, columns: list[str]) -> str:
    """A query that decodes every value of the columns (a plain count would be answered from the footer)."""
    hashed = ", ".join(quote_identifier(column) for column in columns)
    return f"select count(*) filter (where hash({hashed}) = 0) from {relation}" if columns else "select 1"


def _corrupt_files(con, files: list[Path], data_dir: Path) -> dict[Path, str]:
    """Files whose data cannot be decoded, each with the reason: every column of every row is read."""
    corrupt = {}
    for path in files:
        try:
            scan = f"read_parquet([{quote_literal(str(path))}])"
            columns = [row[0] for row in con.execute(f"describe select * from {scan}").fetchall()]
            con.execute(_decode_all_sql(scan, columns)).fetchall()
        except duckdb.Error as error:
            corrupt[path] = _first_line(error).replace(str(data_dir) + os.sep, "")
    return corrupt


def _canonical_select(con, spec: TableSpec, source: TableSource, source_types: dict[str, str]):
    """The canonical SELECT over ``raw_<table>`` and the findings about its columns; None if the table is unusable.

    A column is found by its mapped name, else by its canonical name (in any case). A source column that two
    contract columns would read (``mapping.toml`` mapping both to it) is read by neither, and a column whose type
    cannot hold the kind (true/false as a number, a list as text) is not read: each is an ERROR.
    """
    findings: list[Finding] = []
    source.columns = {}
    lowered = {name.lower(): name for name in source_types}
    missing_required = []
    found = {canonical: _find_column(source.mapping.get(canonical, canonical), source_types, lowered)
             for canonical in spec.columns}
    readers: dict[str, list[str]] = {}
    for canonical, column in found.items():
        if column is not None:
            readers.setdefault(column, []).append(canonical)
    shared = {canonical for names in readers.values() if len(names) > 1 for canonical in names}
    for column, names in readers.items():
        if len(names) > 1:
            required = [name for name in names if name in spec.required_columns]
            consequence = "; table not used" if required else ", read as empty"
            findings.append(Finding(
                "ERROR", spec.name, "",
                f"mapping.toml maps {' and '.join(names)} to the same column {column!r}: one column cannot be "
                f"both, so neither is read{consequence}", source.row_count))
    type_problems = {canonical: _type_problem(kind, source_types[found[canonical]])
                     for canonical, kind in spec.columns.items() if found[canonical] and canonical not in shared}
    expressions = [conversion_sql(kind, found[canonical], source_types[found[canonical]])
                   for canonical, kind in spec.columns.items()
                   if found[canonical] and canonical not in shared and not type_problems[canonical]]
    check_each = not _binds(con, spec.name, expressions)  # only then is each column tried alone
    for canonical, kind in spec.columns.items():
        mapped = source.mapping.get(canonical)
        source_column = found[canonical]
        is_required = canonical in spec.required_columns
        consequence = "; table not used" if is_required else ", read as empty"
        problem = None
        if canonical in shared:
            pass  # reported above, naming both
        elif source_column is not None:
            source_type = source_types[source_column]
            if type_problems[canonical]:
                # An optional column that is a list or a struct is left out with a WARN; the rest is checked.
                level = "ERROR" if is_required else "WARN"
                findings.append(Finding(level, spec.name, canonical, f"column {source_column!r} ({source_type}) "
                                        f"{type_problems[canonical]}{consequence}", source.row_count))
            else:
                expression = _scaled_score_sql(spec, found, source_types, canonical,
                                               conversion_sql(kind, source_column, source_type))
                if not check_each or _binds(con, spec.name, [expression]):
                    source.columns[canonical] = (source_column, source_type, expression)
                    continue
                problem = f"column {source_column!r} ({source_type}) cannot be read as {kind}{consequence}"
        elif mapped is not None:
            problem = f"mapping.toml maps it to column {mapped!r}, which {source.location} does not have{consequence}"
        elif is_required:
            problem = f"required column missing from {source.location}; table not used"
        if problem:
            findings.append(Finding("ERROR", spec.name, canonical, problem, source.row_count))
        source.columns[canonical] = (None, None, f"cast(null as {DUCKDB_TYPE[kind]})")
        if is_required:
            missing_required.append(canonical)
    if missing_required:
        return None, findings
    select_parts = [f"{expression} as {canonical}" for canonical, (_, _, expression) in source.columns.items()]
    return f"select {', '.join(select_parts)} from raw_{spec.name}", findings


# A score written as a fraction must be on its survey's scale: "9/10" for NPS, "4/5" for CSAT.
SCORE_SCALES = {"nps": 10, "csat": 5}


def _scaled_score_sql(spec: TableSpec, found: dict, source_types: dict[str, str], canonical: str,
                      expression: str) -> str:
    """surveys.score read as text: a fraction whose denominator is not its survey's scale is not a score (NULL)."""
    if (spec.name, canonical) != ("surveys", "score") or not found.get("kind"):
        return expression
    if not source_types[found["score"]].upper().startswith("VARCHAR"):
        return expression
    denominator = fraction_denominator_sql(_normalised_number_text(f"trim({quote_identifier(found['score'])})"))
    kind = f"lower(trim(cast({quote_identifier(found['kind'])} as varchar)))"
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


def _binds(con, table: str, expressions: list[str]) -> bool:
    """True when DuckDB accepts the expressions over ``raw_<table>`` (no row is read)."""
    try:
        con.execute(f"select {', '.join(expressions) or '1'} from raw_{table} limit 0")
    except duckdb.Error:
        return False
    return True
