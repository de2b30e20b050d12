"""DuckDB SQL -> Spark SQL: sqlglot (pinned) plus the rewrites this project registers for what it gets wrong.

The SQL files in ``queries/`` are written for DuckDB and stay the source of truth. ``translate`` turns one
file into Spark statements:

1. ``$parameters`` become typed literals (the values are the graph's own: an as-of date, a cutoff instant, a
   time zone, thresholds; a date part such as ``$grain`` must be a literal in Spark anyway);
2. calls of DuckDB macros (``create macro``, table or scalar, defined by earlier files) are expanded in place,
   their parameters replaced by the arguments, as DuckDB itself does;
3. ``main.`` qualifiers go (Spark reads every table from one namespace per as-of date);
4. each construct of ``REWRITES`` is rewritten (sqlglot either raises nothing and emits SQL Spark rejects, e.g.
   ``DATE_BIN`` for ``time_bucket``, or emits SQL that runs and means something else, e.g. ``DATEDIFF(MONTH)``,
   which counts whole months where DuckDB counts month boundaries);
5. sqlglot generates Spark SQL with ``unsupported_level=RAISE``.

``constructs(sql)`` lists the functions and syntax a file uses; the test suite fails on any that is neither in
``PORTABLE`` (checked equal on Spark by ``make test-spark``) nor in ``REWRITES`` (tests/test_spark_portable.py).
No pyspark import here: the lint runs wherever sqlglot is installed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

import sqlglot
from sqlglot import ErrorLevel, exp

SQLGLOT_VERSION = "30.30.0"  # requirements-spark.txt pins it: rewrites match this version's parse trees
DUCKDB_TIME_BUCKET_ORIGIN = 946_857_600  # 2000-01-03 00:00 UTC in epoch seconds: DuckDB's origin for time_bucket


class NotPortable(ValueError):
    """A DuckDB construct with no registered Spark rewrite; the message names the file and the construct."""


@dataclass(frozen=True)
class Macro:
    """A DuckDB macro: ``create macro name(parameters) as [table] body``."""

    name: str
    parameters: tuple[str, ...]
    body: exp.Expression
    is_table: bool


@dataclass(frozen=True)
class Statement:
    """One Spark statement of a file: ``table``/``view`` (``name`` is created from the query ``sql``) or ``query``."""

    kind: str
    name: str | None
    sql: str


def parse(sql: str, file: str = "?") -> list[exp.Expression]:
    """The statements of a DuckDB SQL text, as sqlglot parse trees (comments dropped)."""
    try:
        return [tree for tree in sqlglot.parse(sql, read="duckdb") if tree is not None]
    except sqlglot.errors.ParseError as error:
        raise NotPortable(f"queries/{file}.sql: sqlglot cannot parse it: {str(error).splitlines()[0]}") from error


def translate(sql: str, params: dict, macros: dict[str, Macro], file: str = "?",
              tables: dict[str, str] | None = None) -> list[Statement]:
    """The Spark statements of a DuckDB SQL text; macros it defines are added to ``macros`` (the registry of one
    as-of date: a later file's calls expand them).

    Example: ``translate("select date_diff('month', a, b) as n from t", {}, {})[0].sql`` ==
    ``"SELECT ((YEAR(b) * 12 + MONTH(b)) - (YEAR(a) * 12 + MONTH(a))) AS n FROM t"``.
    """
    statements = []
    tables = tables or {}
    for tree in parse(sql, file):
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "MACRO":
            macro = _macro(tree)
            macros[macro.name] = macro
            continue
        if isinstance(tree, exp.Create):
            kind = str(tree.args.get("kind", "")).lower()
            if kind not in ("table", "view") or tree.expression is None:
                raise NotPortable(f"queries/{file}.sql: 'create {kind}' without a query has no Spark rewrite")
            name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
            statements.append(Statement(kind, name, to_spark(tree.expression, params, macros, file, tables)))
        elif isinstance(tree, exp.Query):
            statements.append(Statement("query", None, to_spark(tree, params, macros, file, tables)))
        else:
            raise NotPortable(f"queries/{file}.sql: a {type(tree).__name__} statement has no Spark rewrite")
    return statements


def _lateral_asof(join: exp.Join, file: str) -> exp.Join:
    """DuckDB's ``l asof [left] join r on <equalities> and <r.t compared with l's value>`` as a lateral join on the
    one row DuckDB picks: ``[left] join lateral (select * from r where <condition> order by r.t limit 1) as r on
    true``, by ascending r.t when r.t must be greater than l's value, descending when smaller."""
    right = join.this
    name = right.alias_or_name
    condition = join.args.get("on")
    inequality = None
    for conjunct in (condition.flatten() if isinstance(condition, exp.And) else [condition]):
        if isinstance(conjunct, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
            sides = [{column.table for column in part.find_all(exp.Column)} for part in (conjunct.this, conjunct.expression)]
            if inequality is not None or sum(name in side for side in sides) != 1:
                raise NotPortable(f"queries/{file}.sql: an asof join needs exactly one inequality on {name}")
            right_is_left_operand = name in sides[0]
            greater = isinstance(conjunct, (exp.GT, exp.GTE)) == right_is_left_operand
            key = conjunct.this if right_is_left_operand else conjunct.expression
            inequality = (key, greater)
    if inequality is None:
        raise NotPortable(f"queries/{file}.sql: an asof join without an inequality has no Spark rewrite")
    key, greater = inequality
    side = (join.args.get("side") or "").upper()
    if side not in ("", "LEFT") or (join.args.get("kind") or "").upper() not in ("", "INNER"):
        raise NotPortable(f"queries/{file}.sql: only asof inner and left joins have a Spark rewrite")
    inner_table = right.copy()
    if not inner_table.args.get("alias"):
        inner_table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
    subquery = (exp.select("*").from_(inner_table).where(condition.copy())
                .order_by(exp.Ordered(this=key.copy(), desc=not greater, nulls_first=False)).limit(1))
    lateral = exp.Lateral(this=exp.Subquery(this=subquery), alias=exp.TableAlias(this=exp.to_identifier(name)))
    return exp.Join(this=lateral, side=side or None, on=exp.true())


def to_spark(tree: exp.Expression, params: dict, macros: dict[str, Macro], file: str = "?",
             tables: dict[str, str] | None = None) -> str:
    """Spark SQL of one DuckDB query tree (see the module's steps); ``tables`` renames tables (not CTEs): an
    engine keeps each as-of date's tables under names of their own."""
    tree = tree.copy()
    tree = _bind(tree, params, file)
    tree = _expand_macros(tree, macros, file)
    tree = REWRITES["query_table()"].apply(tree, file)  # before the renaming: the table it names is renamed too
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if table.args.get("db") is not None and table.db.lower() == "main" and not table.catalog:
            table.set("db", None)
        name = table.name.lower() if isinstance(table.this, exp.Identifier) else ""
        if tables and not table.db and name in tables and name not in ctes:
            if not table.args.get("alias"):  # columns qualified by the old name still resolve
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("this", exp.to_identifier(tables[name]))
    for rewrite in REWRITES.values():
        tree = rewrite.apply(tree, file)
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as error:
        raise NotPortable(f"queries/{file}.sql: {str(error).splitlines()[0]}") from error


def literal(value) -> exp.Expression:
    """A Python value as a typed Spark literal (what ``$parameter`` binds to)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        text = "NaN" if math.isnan(value) else repr(value)
        return exp.Cast(this=exp.Literal.string(text) if not math.isfinite(value) else exp.Literal.number(text),
                        to=exp.DataType.build("DOUBLE"))
    if isinstance(value, datetime):  # before date: a datetime is a date
        return exp.Cast(this=exp.Literal.string(value.replace(tzinfo=None).isoformat(sep=" ")),
                        to=exp.DataType.build("TIMESTAMP"))
    if isinstance(value, date):
        return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("DATE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("ARRAY<STRING>"))
        return exp.Array(expressions=[literal(item) for item in value])
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return literal(value.to_pydatetime())
    raise TypeError(f"no Spark literal for {type(value).__name__} {value!r}")


def _bind(tree: exp.Expression, params: dict, file: str) -> exp.Expression:
    for placeholder in list(tree.find_all(exp.Placeholder)):
        name = placeholder.name
        if name not in params:
            raise TypeError(f"queries/{file}.sql needs parameter ${name}")
        placeholder.replace(literal(params[name]))
    return tree


def _macro(tree: exp.Create) -> Macro:
    function = tree.this
    parameters = tuple(identifier.name for identifier in function.expressions)
    body = tree.expression
    return Macro(function.this.name.lower(), parameters, body, isinstance(body, exp.Query))


def _substitute(macro: Macro, arguments: list[exp.Expression], file: str) -> exp.Expression:
    if len(arguments) != len(macro.parameters):
        raise NotPortable(f"queries/{file}.sql calls {macro.name}() with {len(arguments)} arguments, "
                          f"it takes {len(macro.parameters)}")
    values = dict(zip(macro.parameters, arguments))
    body = macro.body.copy()
    for column in list(body.find_all(exp.Column)):
        if not column.table and column.name in values:
            column.replace(values[column.name].copy())
    for unit in list(body.find_all(exp.Var)):  # date_trunc(grain, ...): sqlglot reads the parameter as a unit
        if unit.name.lower() in values:
            unit.replace(values[unit.name.lower()].copy())
    return body


def _expand_macros(tree: exp.Expression, macros: dict[str, Macro], file: str) -> exp.Expression:
    """Replace every macro call by its body (table macros become aliased subqueries), until none is left."""
    for _ in range(20):  # macros call macros; DuckDB forbids recursion, so a few rounds suffice
        changed = False
        for table in list(tree.find_all(exp.Table)):
            call = table.this
            if isinstance(call, exp.Anonymous) and call.name.lower() in macros:
                macro = macros[call.name.lower()]
                body = _substitute(macro, list(call.expressions), file)
                alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(macro.name))
                table.replace(exp.Subquery(this=body, alias=alias))
                changed = True
        for call in list(tree.find_all(exp.Anonymous)):
            macro = macros.get(call.name.lower())
            if macro is not None and not macro.is_table:
                call.replace(exp.Paren(this=_substitute(macro, list(call.expressions), file)))
                changed = True
        if not changed:
            return tree
    raise NotPortable(f"queries/{file}.sql: macros expand more than 20 levels deep")


# Rewrites


@dataclass(frozen=True)
class Rewrite:
    """One DuckDB construct Spark lacks or reads differently, and how it is rewritten.

    ``matches(node)`` finds the construct in a DuckDB parse tree; ``rewrite(node, file)`` returns its Spark
    replacement (or raises ``NotPortable`` for a form it cannot rewrite honestly).
    """

    construct: str
    why: str
    matches: Callable[[exp.Expression], bool]
    rewrite: Callable[[exp.Expression, str], exp.Expression]

    def apply(self, tree: exp.Expression, file: str) -> exp.Expression:
        """Every match replaced, innermost first (a rewritten node's own arguments are rewritten before it)."""
        found = [node for node in tree.walk(bfs=True) if self.matches(node)]
        for node in reversed(found):
            replacement = self.rewrite(node, file)
            if replacement is not node:
                if node is tree:
                    tree = replacement
                else:
                    node.replace(replacement)
        return tree


def spark(template: str, **nodes: exp.Expression) -> exp.Expression:
    """A Spark SQL expression with ``{name}`` holes filled by parse trees, e.g. ``spark("year({a})", a=node)``."""
    holes = {name: f"__hole_{name}" for name in nodes}
    tree = sqlglot.parse_one(template.format(**holes), read="spark")
    for column in list(tree.find_all(exp.Column)):
        for name, hole in holes.items():
            if column.name == hole and not column.table:
                column.replace(nodes[name].copy())
    return tree


def _function_name(node: exp.Expression) -> str:
    return node.name.lower() if isinstance(node, exp.Anonymous) else ""


def _string(node: exp.Expression | None) -> str | None:
    """The text of a string literal or a unit keyword (``'month'``, ``MONTH``), lower-cased; None otherwise."""
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this.lower()
    if isinstance(node, (exp.Var, exp.Identifier)):
        return node.name.lower()
    if isinstance(node, exp.Column) and not node.table:
        return node.name.lower()
    return None


def _is_utc(node: exp.Expression | None) -> bool:
    return _string(node) in ("utc", "etc/utc")


def _timezone(node: exp.Expression, file: str) -> exp.Expression:
    zone, value = (node.expressions + [None, None])[:2]
    if isinstance(value, exp.AtTimeZone) and _is_utc(value.args.get("zone")):
        # timezone(zone, ts at time zone 'UTC'): the UTC wall time ts seen in zone.
        return spark("from_utc_timestamp({ts}, {zone})", ts=value.this, zone=zone)
    if _is_utc(zone) and _function_name(value) == "to_utc_timestamp":  # rewritten inner call, see below
        return value
    if (not isinstance(value, exp.AtTimeZone) and _function_name(node.parent) == "timezone"
            and _is_utc(node.parent.expressions[0])):
        return node  # the inner call of timezone('UTC', timezone(zone, ts)): rewritten with the outer one
    if _is_utc(zone) and _function_name(value) == "timezone" and len(value.expressions) == 2:
        inner_zone, naive = value.expressions
        if not isinstance(naive, exp.AtTimeZone):
            # timezone('UTC', timezone(zone, naive)): the UTC instant of a wall time in zone.
            return spark("to_utc_timestamp({ts}, {zone})", ts=naive, zone=inner_zone)
    raise NotPortable(f"queries/{file}.sql: timezone({node.sql('duckdb')[9:-1]}) has no Spark rewrite; write "
                      "timezone(zone, ts at time zone 'UTC') or timezone('UTC', timezone(zone, ts))")


_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def _time_bucket(node: exp.DateBin, file: str) -> exp.Expression:
    interval = node.this
    unit = _string(interval.args.get("unit")) if isinstance(interval, exp.Interval) else None
    unit = unit.rstrip("s") if unit else unit
    try:
        size = int(interval.this.name) * _SECONDS[unit]
    except (AttributeError, KeyError, ValueError):
        raise NotPortable(f"queries/{file}.sql: time_bucket({interval.sql('duckdb')}, ...) has no Spark rewrite: "
                          "only second to week intervals") from None
    if node.args.get("origin") is not None or len(node.expressions) > 0 and node.expression is None:
        raise NotPortable(f"queries/{file}.sql: time_bucket with an origin or offset has no Spark rewrite")
    origin = DUCKDB_TIME_BUCKET_ORIGIN % size
    return spark(f"timestamp_seconds(floor((unix_seconds({{ts}}) - {origin}) / {size}) * {size} + {origin})",
                 ts=node.expression)


def _to_interval(node: exp.Expression, file: str) -> exp.Expression:
    name = "to_days" if isinstance(node, exp.ToDays) else _function_name(node)
    value = node.this if isinstance(node, exp.ToDays) else node.expressions[0]
    templates = {
        "to_days": "make_dt_interval({n})", "to_hours": "make_dt_interval(0, {n})",
        "to_minutes": "make_dt_interval(0, 0, {n})", "to_months": "make_ym_interval(0, {n})",
        "to_years": "make_ym_interval({n}, 0)",
    }
    return spark(templates[name], n=value)


def _date_diff(node: exp.DateDiff, file: str) -> exp.Expression:
    """DuckDB counts unit boundaries crossed between the two values (week: whole days // 7); Spark's DATEDIFF
    with a unit counts whole units elapsed. Each unit is written as the boundary count DuckDB means."""
    unit = _string(node.args.get("unit")) or "day"
    unit = unit.rstrip("s") if unit not in ("s",) else unit
    start, end = node.expression, node.this
    templates = {
        "year": "(year({b}) - year({a}))",
        "quarter": "((year({b}) * 4 + quarter({b})) - (year({a}) * 4 + quarter({a})))",
        "month": "((year({b}) * 12 + month({b})) - (year({a}) * 12 + month({a})))",
        "week": "(datediff(cast({b} as date), cast({a} as date)) div 7)",
        "day": "datediff(cast({b} as date), cast({a} as date))",
        "hour": "(floor(unix_seconds(cast({b} as timestamp)) / 3600) - floor(unix_seconds(cast({a} as timestamp)) / 3600))",
        "minute": "(floor(unix_seconds(cast({b} as timestamp)) / 60) - floor(unix_seconds(cast({a} as timestamp)) / 60))",
        "second": "(unix_seconds(cast({b} as timestamp)) - unix_seconds(cast({a} as timestamp)))",
        "millisecond": "(unix_millis(cast({b} as timestamp)) - unix_millis(cast({a} as timestamp)))",
        "microsecond": "(unix_micros(cast({b} as timestamp)) - unix_micros(cast({a} as timestamp)))",
    }
    if unit not in templates:
        raise NotPortable(f"queries/{file}.sql: date_diff({unit!r}, ...) has no Spark rewrite")
    return spark(templates[unit], a=start, b=end)


def _is_fractional(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Literal) and not node.is_string and any(c in node.this for c in ".eE")
            and not isinstance(node.parent, exp.Cast))


def _fractional(node: exp.Literal, file: str) -> exp.Expression:
    """DuckDB reads 0.5 as DECIMAL and divides decimals as doubles; Spark keeps DECIMAL at scale 6 and differs in
    the 7th digit. A fractional literal is a DOUBLE on Spark."""
    return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))


def _union_by_name(node: exp.Union, file: str) -> exp.Expression:
    """``union all by name``: each branch lists every column of the union, in first-seen order, null where it
    has none. Every branch must name its columns (no ``*``)."""
    if isinstance(node.parent, exp.Union) and node.parent.args.get("by_name"):
        return node  # rewritten with the outermost union of the chain
    branches: list[exp.Select] = []

    def collect(part: exp.Expression) -> None:
        if isinstance(part, exp.Union) and part.args.get("by_name") and not part.args.get("distinct"):
            collect(part.this)
            collect(part.expression)
        elif isinstance(part, exp.Select):
            branches.append(part)
        else:
            raise NotPortable(f"queries/{file}.sql: 'union all by name' over a {type(part).__name__} has no rewrite")

    collect(node)
    names: list[str] = []
    for branch in branches:
        for projection in branch.expressions:
            if isinstance(projection, exp.Star) or not projection.alias_or_name:
                raise NotPortable(f"queries/{file}.sql: 'union all by name' needs every column named (no *)")
            if projection.alias_or_name not in names:
                names.append(projection.alias_or_name)
    rebuilt = []
    for branch in branches:
        own = {projection.alias_or_name: projection for projection in branch.expressions}
        branch = branch.copy()
        branch.set("expressions", [own[name].copy() if name in own else exp.alias_(exp.Null(), name)
                                   for name in names])
        rebuilt.append(branch)
    union = rebuilt[0]
    for branch in rebuilt[1:]:
        union = exp.Union(this=union, expression=branch, distinct=False)
    return union


def _list_contains(node: exp.ArrayContains, file: str) -> exp.Expression:
    """DuckDB's ``list_contains(l, x)`` is null when l or x is null and false when x is not in l, nulls in l or
    not; Spark's ``array_contains`` is null when x is missing from a list holding a null, and cannot type a bare
    NULL (a macro's unset rule or row value). A bare NULL gives null; otherwise the nulls of l are taken out."""
    if isinstance(node.this, exp.Null) or isinstance(node.expression, exp.Null):
        return exp.Cast(this=exp.Null(), to=exp.DataType.build("BOOLEAN"))
    return spark("array_contains(filter({l}, element_ -> element_ is not null), {x})", l=node.this, x=node.expression)


def _regexp_replace(node: exp.RegexpReplace, file: str) -> exp.Expression:
    """DuckDB replaces the first match unless the options say 'g' and writes groups as \\1; Spark replaces every
    match and writes groups as $1."""
    options = _string(node.args.get("modifiers")) or ""
    pattern = node.expression
    if "g" not in options and not (isinstance(pattern, exp.Literal) and pattern.this.startswith("^")):
        raise NotPortable(f"queries/{file}.sql: regexp_replace without 'g' replaces only the first match; Spark "
                          "replaces every one: anchor the pattern with ^ or pass 'g'")
    if set(options) - {"g"}:
        raise NotPortable(f"queries/{file}.sql: regexp_replace options {options!r} have no Spark rewrite")
    replacement = node.args.get("replacement")
    if isinstance(replacement, exp.Literal) and replacement.is_string:
        text = replacement.this.replace("$", "\\$")  # a literal $ in Spark's replacement
        text = re.sub(r"\\([0-9])", r"$\1", text)  # \1 (DuckDB) -> $1 (Spark)
        replacement = exp.Literal.string(text)
    return exp.Anonymous(this="regexp_replace", expressions=[node.this.copy(), pattern.copy(), replacement.copy()])


def _regexp_full_match(node: exp.Expression, file: str) -> exp.Expression:
    """DuckDB's ``regexp_full_match(s, p)`` is true when p matches the whole of s; Spark has no such function.
    Spark's RLIKE finds p anywhere, so the pattern is anchored: ``^(?:p)\\z`` (\\z, not $: Java's $ also matches
    before a final line break). Only a literal pattern is rewritten (its text is checked, not a column's)."""
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise NotPortable(f"queries/{file}.sql: regexp_full_match with a pattern that is not a literal has no "
                          "Spark rewrite")
    if node.args.get("options") is not None or node.args.get("modifiers") is not None:
        raise NotPortable(f"queries/{file}.sql: regexp_full_match options have no Spark rewrite")
    anchored = exp.Literal.string(f"^(?:{pattern.this})\\z")
    return exp.RegexpLike(this=node.this.copy(), expression=anchored)


def _is_query_table(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Table) and _function_name(node.this) == "query_table"
            or _function_name(node) == "query_table")


def _query_table(node: exp.Table, file: str) -> exp.Expression:
    """DuckDB's ``from query_table('name')`` reads the table whose name is the text; Spark has no dynamic table
    name. It is expanded at translation: the argument must be a string literal by then (written so, or a macro's
    parameter its call binds to a literal: ``customer_rfm('churn_model_scores')``); anything else is refused."""
    if not isinstance(node, exp.Table):
        if isinstance(node.parent, exp.Table) and node.parent.this is node:
            return node  # rewritten with its table
        raise NotPortable(f"queries/{file}.sql: query_table() outside a from clause has no Spark rewrite")
    arguments = node.this.expressions
    if len(arguments) != 1 or not (isinstance(arguments[0], exp.Literal) and arguments[0].is_string):
        raise NotPortable(f"queries/{file}.sql: query_table() with an argument that is not a string literal (or a "
                          "macro parameter bound to one) has no Spark rewrite: the table name must be known when "
                          "the SQL is translated")
    name = arguments[0].this
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise NotPortable(f"queries/{file}.sql: query_table({name!r}) names no plain table")
    alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
    return exp.Table(this=exp.to_identifier(name), alias=alias.copy())


def _array_overlaps(node: exp.ArrayOverlaps, file: str) -> exp.Expression:
    """DuckDB's ``list_has_any(a, b)`` (``a && b``) ignores null elements: false when no non-null element is in
    both, null only when a list is null. sqlglot writes ``a && b``, which Spark reads as a boolean AND; Spark's
    ``arrays_overlap`` is null (not false) when nothing is shared and a list holds a null. So: the nulls are taken
    out of both lists first. A bare NULL list (a macro's unset rule) gives null, as in DuckDB."""
    if isinstance(node.this, exp.Null) or isinstance(node.expression, exp.Null):
        return exp.Cast(this=exp.Null(), to=exp.DataType.build("BOOLEAN"))
    return spark("arrays_overlap(filter({a}, element_ -> element_ is not null), "
                 "filter({b}, element_ -> element_ is not null))", a=node.this, b=node.expression)


def _is_boolean_cast(node: exp.Expression) -> bool:
    if isinstance(node, exp.DataType):  # the type inside the cast: handled with it
        return node.is_type(exp.DataType.Type.BOOLEAN) and isinstance(node.parent, exp.Cast)
    return isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.BOOLEAN)


def _boolean_cast(node: exp.Expression, file: str) -> exp.Expression:
    """A cast to boolean reads alike when its value already is a boolean or null (a bound ``$flag``, a
    comparison); from text the engines differ (Spark trims ' true' to true, DuckDB refuses it), so a cast of
    anything else is refused."""
    if isinstance(node, exp.DataType):
        return node
    value = node.this
    while isinstance(value, exp.Paren):
        value = value.this
    if isinstance(value, (exp.Boolean, exp.Null, exp.Placeholder, exp.Predicate, exp.Not, exp.And, exp.Or)):
        return node
    raise NotPortable(f"queries/{file}.sql: cast({value.sql('duckdb')} as boolean) has no Spark rewrite: a text "
                      "value is read differently (Spark trims spaces); cast a boolean, or compare instead")


def _is_unordered_list(node: exp.Expression) -> bool:
    if isinstance(node, exp.Filter):
        return isinstance(node.this, exp.ArrayAgg) and node.this.find(exp.Order) is None
    return isinstance(node, exp.ArrayAgg) and node.find(exp.Order) is None


def _unordered_list(node: exp.Expression, file: str) -> exp.Expression:
    """DuckDB's ``list(x)`` keeps null values and is null over no rows (every row filtered out); Spark's
    ``collect_list`` drops nulls and gives an empty array. Each value is collected inside a struct (never null),
    taken out again, and an empty result is null: ``list([distinct] x) [filter (where ...)]`` reads alike."""
    if isinstance(node, exp.ArrayAgg) and isinstance(node.parent, exp.Filter):
        return node  # rewritten with its filter clause
    aggregate = node.this if isinstance(node, exp.Filter) else node
    value = aggregate.this
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        if len(value.expressions) != 1:
            raise NotPortable(f"queries/{file}.sql: list(distinct ...) of several values has no Spark rewrite")
        value = value.expressions[0]
    collected = spark(f"collect_list({'distinct ' if distinct else ''}named_struct('v', {{x}}))", x=value)
    if isinstance(node, exp.Filter):
        collected = exp.Filter(this=collected, expression=node.expression.copy())
    return spark("case when size({l}) = 0 then null else transform({l}, value_ -> value_.v) end", l=collected)


def _ordered_list(node: exp.Expression, file: str) -> exp.Expression:
    raise NotPortable(f"queries/{file}.sql: list(... order by ...) has no Spark rewrite (Spark's collect_list "
                      "keeps no order): aggregate without an order, or order the rows another way")


REWRITES: dict[str, Rewrite] = {
    rewrite.construct: rewrite
    for rewrite in (
        Rewrite("asof join", "sqlglot writes ASOF LEFT JOIN back, which Spark reads as a table aliased ASOF",
                lambda node: isinstance(node, exp.Join) and str(node.args.get("method") or "").upper() == "ASOF",
                lambda node, file: _lateral_asof(node, file)),
        Rewrite("union all by name", "Spark SQL has no UNION BY NAME",
                lambda node: isinstance(node, exp.Union) and bool(node.args.get("by_name")), _union_by_name),
        Rewrite("timezone()", "sqlglot emits TIMEZONE(), which Spark lacks; the two forms the SQL uses are "
                "from_utc_timestamp and to_utc_timestamp", lambda node: _function_name(node) == "timezone",
                _timezone),
        Rewrite("time_bucket()", "sqlglot emits DATE_BIN, which Spark lacks; DuckDB buckets from 2000-01-03",
                lambda node: isinstance(node, exp.DateBin), _time_bucket),
        Rewrite("to_days() and other to_<unit>()", "Spark builds intervals with make_dt_interval/make_ym_interval",
                lambda node: isinstance(node, exp.ToDays)
                or _function_name(node) in ("to_hours", "to_minutes", "to_months", "to_years"), _to_interval),
        Rewrite("date_diff()", "DuckDB counts unit boundaries (week: whole days // 7); Spark's DATEDIFF(unit) "
                "counts whole units", lambda node: isinstance(node, exp.DateDiff), _date_diff),
        Rewrite("fractional literal", "DuckDB divides DECIMAL literals as DOUBLE; Spark keeps DECIMAL(38,6)",
                _is_fractional, _fractional),
        Rewrite("regexp_replace()", "DuckDB replaces the first match unless 'g', groups are \\1; Spark replaces "
                "every match, groups are $1", lambda node: isinstance(node, exp.RegexpReplace), _regexp_replace),
        Rewrite("regexp_full_match()", "sqlglot writes REGEXP_FULL_MATCH, which Spark lacks; RLIKE with the "
                "pattern anchored at both ends", lambda node: isinstance(node, exp.RegexpFullMatch),
                _regexp_full_match),
        Rewrite("query_table()", "Spark has no dynamic table name: expanded at translation when the name is a "
                "literal", _is_query_table, _query_table),
        Rewrite("array_overlaps()", "sqlglot writes a && b (a boolean AND in Spark); Spark's arrays_overlap is "
                "null where DuckDB's list_has_any is false", lambda node: isinstance(node, exp.ArrayOverlaps),
                _array_overlaps),
        Rewrite("cast to boolean", "from text Spark trims spaces where DuckDB refuses: only a boolean or null "
                "value is cast", _is_boolean_cast, _boolean_cast),
        Rewrite("unordered list()", "DuckDB's list(x) keeps nulls and is null over no rows; Spark's collect_list "
                "drops nulls and gives []", _is_unordered_list, _unordered_list),
        Rewrite("ordered list()", "sqlglot drops the order of list(x order by y)",
                lambda node: isinstance(node, exp.ArrayAgg) and node.find(exp.Order) is not None, _ordered_list),
        Rewrite("list_contains()", "Spark's array_contains is null where DuckDB says false (a list holding a null) "
                "and cannot type a bare NULL",
                lambda node: isinstance(node, exp.ArrayContains), _list_contains),
    )
}


# The lint: what a file uses that is neither rewritten nor known to mean the same on Spark


def _construct(node: exp.Expression) -> str | None:
    """The name the lint gives a node: functions as ``name()``, syntax by a short phrase; None for plain syntax
    (columns, literals, aliases, joins, ...) that reads the same in both engines."""
    if isinstance(node, exp.Anonymous):
        return f"{node.name.lower()}()"
    if isinstance(node, exp.Func):
        return f"{node.sql_name().lower()}()"
    if isinstance(node, exp.Join) and node.args.get("method"):
        return f"{str(node.args['method']).lower()} join"
    if isinstance(node, exp.Window):
        return "window" if node.args.get("partition_by") else "window without partition by"
    if isinstance(node, exp.Group) and node.args.get("all"):
        return "group by all"
    if isinstance(node, exp.DataType):
        return f"type {node.sql('duckdb').lower()}"
    names = {
        exp.IntDiv: "//", exp.Filter: "filter clause", exp.Placeholder: "$parameter", exp.Interval: "interval",
        exp.AtTimeZone: "at time zone", exp.Lateral: "lateral", exp.Unnest: "unnest", exp.Pivot: "pivot",
        exp.Qualify: "qualify", exp.Star: "*", exp.Values: "values", exp.Mod: "%", exp.DPipe: "||",
        exp.Bracket: "[] index", exp.Struct: "struct", exp.Lambda: "lambda", exp.Tuple: "tuple",
        exp.Except: "except", exp.Intersect: "intersect", exp.Distinct: "distinct",
    }
    for kind, name in names.items():
        if type(node) is kind:
            return name
    if isinstance(node, exp.Union):
        return "union all by name" if node.args.get("by_name") else "union"
    return None


def constructs(sql: str, file: str = "?") -> dict[str, int]:
    """The DuckDB constructs a SQL text uses that no registered rewrite handles, with how often; a macro's
    definition and calls count as handled (they are expanded)."""
    found: dict[str, int] = {}
    for tree in parse(sql, file):
        for node in tree.walk():
            if any(rewrite.matches(node) for rewrite in REWRITES.values()):
                continue
            if isinstance(node, (exp.Create, exp.UserDefinedFunction)):
                continue
            name = _construct(node)
            if name is not None:
                found[name] = found.get(name, 0) + 1
    return found


def unchecked(sql: str, file: str = "?") -> list[str]:
    """Constructs of a SQL text that are neither rewritten nor in ``PORTABLE`` (the lint fails on these)."""
    return sorted(name for name in constructs(sql, file) if name not in PORTABLE and not _is_macro_call(name))


_MACRO_NAMES: set[str] = set()


def _is_macro_call(name: str) -> bool:
    return name.endswith("()") and name[:-2] in _MACRO_NAMES


def register_macro_names(names) -> None:
    """Macros defined by the project's SQL files: their calls are expanded, not run as Spark functions."""
    _MACRO_NAMES.update(name.lower() for name in names)


def macro_names(sql: str, file: str = "?") -> set[str]:
    """The macros a SQL text defines."""
    return {_macro(tree).name for tree in parse(sql, file)
            if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "MACRO"}


# Constructs that read the same in DuckDB and Spark as sqlglot writes them: every one is exercised by a node or
# query whose rows make test-spark compares (tests/test_spark_parity.py). Add one only after it compared equal.
PORTABLE = frozenset({
    "$parameter", "*", "//", "abs()", "and()", "any_value()", "arg_max()", "arg_min()", "array()", "at time zone", "bitwise_or_agg()", "case()", "cast()", "coalesce()", "concat_ws()",
    "contains()", "count()", "distinct", "exists()", "explode()", "filter clause", "floor()", "generate_series()",
    "greatest()", "group by all", "grouping()", "if()", "interval", "lag()", "lead()", "least()", "left()",
    "length()", "logical_or()", "lower()", "max()", "median()", "min()", "ntile()", "nullif()", "or()", "regexp_extract()", "round()",
    "row_number()", "sha2()", "sqrt()", "str_position()", "substring()", "sum()", "time_to_str()", "timestamp_trunc()",
    "trim()", "tuple", "type bigint", "type date", "type double", "type int", "type text", "type timestamp",
    "union", "upper()", "values", "window", "||",
    # customer_label() (privacy_macros.sql), compared through every query that shows a customer id on the edge
    # exports, whose ids include an e-mail address and phone numbers: regexp_matches -> RLIKE (both find the
    # pattern anywhere; the patterns are plain character classes and anchors, read alike by RE2 and Java),
    # sha256 -> sha2(x, 256) (both lower-case hex of the UTF-8 bytes), length (characters in both).
    "regexp_like()",
    # Compared on Spark (tests/test_spark_constructs.py): list_sort() -> array_sort(), both ascending with
    # nulls last, strings by their bytes (upper case before lower, 'é' after 'z'), ties kept, [] and null lists
    # unchanged; extract(year/month/day/hour from ...) of dates (leap day, New York's DST days, month halves) and
    # of timestamps in the UTC session both engines run in.
    "array_sort()", "extract()",
    # churn_features sums money as decimal(38, 6): a double cast rounds half away from zero at the 7th digit in both
    # engines (negatives, 1e12, nulls compared in tests/test_spark_constructs.py), and the sums are exact in both.
    "type decimal(38, 6)",
    # Correct on Spark, but one partition there: fine for the few rows these windows see (see the README).
    "window without partition by",
})
