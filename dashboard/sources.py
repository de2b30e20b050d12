"""Find the Parquet exports, map their columns to the contract and register typed DuckDB views.

Nothing here writes to the data folder: files are read in place through ``read_parquet`` views.
Each contract table becomes two views: ``raw_<table>`` (the files as they are) and ``<table>``
(canonical names and types, one row per source row).  A table that is absent or unusable becomes
an empty view with the canonical columns, so every query still runs and pages show an empty state.
See docs/data-contract.md for the contract itself.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
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
    files: list[Path] = field(default_factory=list)
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
    files: list[Path] = []
    if single.is_file():
        files.append(single)
    if folder.is_dir():

        def _raise(error: OSError) -> None:
            raise error

        for root, folders, names in os.walk(folder, onerror=_raise):
            folders[:] = [name for name in folders if not _is_hidden(name)]
            for name in names:
                path = Path(root) / name
                if name.endswith(".parquet") and not _is_hidden(name) and path.is_file():
                    files.append(path)
        files[1 if files and files[0] == single else 0:] = sorted(files[1 if files and files[0] == single else 0:])
    return files


def read_mapping(data_dir: Path, findings: list[Finding]) -> tuple[dict[str, dict[str, str]], str]:
    """Read ``mapping.toml`` (``[orders] order_id = "Name"``); an invalid file is reported and ignored."""
    path = data_dir / "mapping.toml"
    if not path.is_file():
        return {}, ""
    try:
        text = path.read_text(encoding="utf-8")
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


def _readable_files(table: str, files: list[Path], data_dir: Path, findings: list[Finding]) -> list[tuple[Path, object]]:
    """Open each file's Parquet footer; corrupt, empty or non-Parquet files are reported and skipped."""
    readable = []
    for path in files:
        relative = path.relative_to(data_dir)
        try:
            if path.stat().st_size == 0:
                findings.append(Finding("ERROR", table, "", f"file {relative} is empty (0 bytes), skipped", 0))
                continue
            metadata = pq.read_metadata(path)
        except Exception as error:  # pyarrow raises several types for corrupt files
            reason = str(error).splitlines()[0][:160]
            findings.append(Finding("ERROR", table, "", f"file {relative} is not readable Parquet, skipped: {reason}"))
            continue
        if metadata.num_rows == 0:
            findings.append(Finding("WARN", table, "", f"file {relative} has 0 rows", 0))
        readable.append((path, metadata))
    return readable


def _schema_findings(table: str, readable, data_dir: Path, findings: list[Finding]) -> None:
    """Report columns whose type differs between the files of one table."""
    types: dict[str, dict[str, list[str]]] = {}
    for path, metadata in readable:
        schema = metadata.schema.to_arrow_schema()
        for arrow_field in schema:
            types.setdefault(arrow_field.name, {}).setdefault(str(arrow_field.type), []).append(
                str(path.relative_to(data_dir))
            )
    for column, by_type in types.items():
        if len(by_type) > 1:
            described = "; ".join(f"{kind} in {', '.join(paths[:2])}" for kind, paths in sorted(by_type.items()))
            findings.append(
                Finding("WARN", table, column, f"files have different types ({described}); read as a common type")
            )


def conversion_sql(kind: str, source: str, source_type: str) -> str:
    """SQL that turns a source column of a DuckDB type into the canonical kind (NULL when unreadable)."""
    column = quote_identifier(source)
    upper = source_type.upper()
    is_text = upper in {"VARCHAR", "BLOB"} or upper.startswith("VARCHAR")
    is_number = any(
        upper.startswith(prefix)
        for prefix in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                       "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")
    )
    if kind in (ID, TEXT):
        if upper in {"FLOAT", "DOUBLE"} and kind == ID:
            return f"cast(cast({column} as bigint) as varchar)"
        return f"cast({column} as varchar)"
    if kind == NUMBER:
        if is_number:
            return f"cast({column} as double)"
        if is_text:
            # "$1,234.50" or " 12 EUR": keep digits, the decimal point and a leading minus sign.
            return f"try_cast(nullif(regexp_replace(trim({column}), '[^0-9.\\-]', '', 'g'), '') as double)"
        return f"try_cast({column} as double)"
    if kind == TIMESTAMP:
        if "WITH TIME ZONE" in upper or upper.startswith("TIMESTAMPTZ"):
            return f"timezone('UTC', {column})"
        if upper.startswith("TIMESTAMP") or upper == "DATE":
            return f"cast({column} as timestamp)"
        if is_text:
            formats = ", ".join(quote_literal(fmt) for fmt in TEXT_TIMESTAMP_FORMATS)
            return (
                f"coalesce(timezone('UTC', try_cast(trim({column}) as timestamptz)), "
                f"try_strptime(trim({column}), [{formats}]))"
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


def _empty_view_sql(spec: TableSpec) -> str:
    """A view with the canonical columns and no rows."""
    columns = ", ".join(f"cast(null as {DUCKDB_TYPE[kind]}) as {name}" for name, kind in spec.columns.items())
    return f"select {columns} where false"


def register_sources(con: duckdb.DuckDBPyConnection, data_dir: Path | str) -> Catalog:
    """Find the exports under data_dir and create the ``raw_<table>`` and ``<table>`` views on con.

    Example: ``catalog = register_sources(con, "data/demo"); con.sql("select count(*) from orders")``.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    findings: list[Finding] = []
    tables: dict[str, TableSource] = {}
    all_files: list[Path] = []
    mapping: dict[str, dict[str, str]] = {}
    mapping_text = ""
    if not data_dir.is_dir():
        findings.append(Finding("ERROR", "data", "", f"data folder {data_dir} does not exist or is not a folder"))
    else:
        try:
            next(data_dir.iterdir(), None)
            mapping, mapping_text = read_mapping(data_dir, findings)
        except PermissionError:
            findings.append(Finding("ERROR", "data", "", f"data folder {data_dir} is not readable"))
    for spec in CONTRACT.values():
        source = TableSource(spec.name, mapping=mapping.get(spec.name, {}))
        tables[spec.name] = source
        try:
            files = find_table_files(data_dir, spec.name) if data_dir.is_dir() else []
        except PermissionError:
            files = []
            findings.append(Finding("ERROR", spec.name, "", "files are not readable (permission denied)"))
        all_files.extend(files)
        readable = _readable_files(spec.name, files, data_dir, findings)
        source.files = [path for path, _ in readable]
        if not files:
            level = "ERROR" if spec.is_required else "INFO"
            what = "required table not found" if spec.is_required else "optional table not exported"
            findings.append(Finding(level, spec.name, "", f"{what} (expected {spec.name}.parquet or {spec.name}/)"))
        _schema_findings(spec.name, readable, data_dir, findings)
        view_sql = _empty_view_sql(spec)
        if source.files:
            view_sql = _register_table(con, spec, source, data_dir, findings) or view_sql
        con.execute(f"create or replace view {spec.name} as {view_sql}")
    fingerprint = export_fingerprint(data_dir)
    return Catalog(data_dir, tables, findings, fingerprint, mapping_text)


def _register_table(con, spec: TableSpec, source: TableSource, data_dir: Path, findings: list[Finding]) -> str | None:
    """Create ``raw_<table>`` over the readable files; return the canonical SELECT, or None if unusable."""
    paths = ", ".join(quote_literal(str(path)) for path in source.files)
    is_partitioned = any("=" in part for path in source.files for part in path.relative_to(data_dir).parts[:-1])
    raw_view = f"raw_{spec.name}"
    try:
        con.execute(
            f"create or replace view {raw_view} as select * from read_parquet([{paths}], "
            f"union_by_name = true, hive_partitioning = {str(is_partitioned).lower()})"
        )
        described = con.execute(f"describe {raw_view}").fetchall()
        source.row_count = con.execute(f"select count(*) from {raw_view}").fetchone()[0]
    except duckdb.Error as error:
        reason = str(error).splitlines()[0][:200]
        findings.append(Finding("ERROR", spec.name, "", f"files cannot be read together: {reason}"))
        return None
    source_types = {row[0]: row[1] for row in described}
    lowered = {name.lower(): name for name in source_types}
    select_parts = []
    missing_required = []
    for canonical, kind in spec.columns.items():
        mapped = source.mapping.get(canonical)
        if mapped is not None and mapped not in source_types:
            findings.append(
                Finding("ERROR", spec.name, canonical,
                        f"mapping.toml maps it to column {mapped!r}, which {source.location} does not have",
                        source.row_count)
            )
            mapped = None
        source_column = mapped or (canonical if canonical in source_types else lowered.get(canonical.lower()))
        if source_column is None:
            if canonical in spec.required_columns:
                missing_required.append(canonical)
            expression = f"cast(null as {DUCKDB_TYPE[kind]})"
            source.columns[canonical] = (None, None, expression)
        else:
            expression = conversion_sql(kind, source_column, source_types[source_column])
            source.columns[canonical] = (source_column, source_types[source_column], expression)
        select_parts.append(f"{expression} as {canonical}")
    if missing_required:
        for column in missing_required:
            findings.append(
                Finding("ERROR", spec.name, column,
                        f"required column missing from {source.location}; table not used", source.row_count)
            )
        return None
    source.is_usable = True
    return f"select {', '.join(select_parts)} from {raw_view}"
