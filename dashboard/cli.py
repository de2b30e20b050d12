"""The command line: ``python -m dashboard {demo-data,validate,report,...}``.

Every command calls the same functions the app uses. Errors are printed as one clear line
(never a traceback) and give exit code 2; ``validate`` exits 1 when it finds an ERROR.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from dashboard import checks
from dashboard.settings import SettingsError, load_settings


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from error


# The snapshots the databases this command opened read (a damaged one is put in quarantine by ``main``).
_SNAPSHOTS_READ: list[Path] = []


def _open_database(args, build_in_file: bool = False):
    from dashboard.model import Database

    settings = load_settings(data_dir=getattr(args, "data", None), timezone=getattr(args, "timezone", None))
    database = Database.open(settings, build_in_file=build_in_file)
    if database.snapshot is not None:
        _SNAPSHOTS_READ.append(database.snapshot)
    problems = list(database.state_problems)
    if database.serving_problem:
        problems.append(database.serving_problem)
    for problem in problems:
        print(f"warning: {checks.printable(problem)}", file=sys.stderr)
    return database


def _refuse(reason: str) -> int:
    """Print why a command cannot run, as one line, and return its exit code (2)."""
    print(f"error: {checks.printable(reason)}", file=sys.stderr)
    return 2


def _incomplete_refusal(database, args, what: str) -> int | None:
    """Refuse (exit 2, one line) when a table is incomplete, unless ``--allow-incomplete``: then warn and go on.

    A file that could not be read (cut short while being written, corrupt) would silently lower every number.
    """
    incomplete = database.incomplete_tables()
    if incomplete and not args.allow_incomplete:
        return _refuse(f"cannot {what}: " + "; ".join(incomplete.values())
                       + ". Pass --allow-incomplete to go on without them")
    for message in incomplete.values():
        print(f"warning: {checks.printable(message)}", file=sys.stderr)
    return None


def command_demo_data(args) -> int:
    """Write the synthetic demo exports."""
    from dashboard import demo

    started = time.perf_counter()
    counts = demo.generate(args.out, customers=args.customers, seed=args.seed, progress=sys.stderr.isatty())
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{table} {count:,}" for table, count in counts.items())
    print(f"wrote demo exports to {args.out} in {elapsed:.1f} s: {summary}")
    return 0


def command_prepare_demo(args) -> int:
    """For `make run`: write the demo exports to data/demo unless your own exports are configured."""
    from dashboard import demo
    from dashboard.settings import DEMO_DATA_DIR

    settings = load_settings()
    if settings.data_dir.resolve() != DEMO_DATA_DIR.resolve():
        print(f"using your exports in {settings.data_dir}")
        return 0
    if (DEMO_DATA_DIR / "orders").is_dir():
        print(f"using the demo exports in {DEMO_DATA_DIR}")
        return 0
    started = time.perf_counter()
    # The demo ends yesterday so it looks live; `demo-data` keeps its fixed, reproducible end date.
    yesterday = date.today() - timedelta(days=1)
    counts = demo.generate(DEMO_DATA_DIR, progress=sys.stderr.isatty(), end_date=yesterday)
    print(f"wrote demo exports ({counts['customers']:,} customers, {counts['orders']:,} orders) to {DEMO_DATA_DIR} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def command_validate(args) -> int:
    """Print one line per finding; exit 1 if any is an ERROR."""
    database = _open_database(args)
    findings = database.findings()
    for finding in findings:
        if finding.level != "INFO" or args.verbose:
            print(finding.line())
    errors = sum(finding.level == "ERROR" for finding in findings)
    warnings = sum(finding.level == "WARN" for finding in findings)
    print(f"{database.catalog.data_dir}: {errors} errors, {warnings} warnings", file=sys.stderr)
    return 1 if checks.has_errors(findings) else 0


def command_report(args) -> int:
    """Write the metrics report (JSON) or the weekly review (HTML, PDF)."""
    from dashboard import report
    from dashboard.outputs import write_atomically

    database = _open_database(args)
    if not database.has_orders:
        return _refuse(f"cannot build the report: {checks.why_no_orders(database.findings())}")
    refused = _incomplete_refusal(database, args, "build the report")
    if refused is not None:
        return refused
    as_of = args.as_of or database.default_as_of()
    if args.format == "json":
        metrics = report.metrics_report(database, as_of)
        if database.incomplete_tables():  # only with --allow-incomplete: the numbers exclude these tables' files
            metrics["incomplete_tables"] = database.incomplete_tables()
        content = json.dumps(metrics, indent=2, sort_keys=False) + "\n"
    elif args.format == "html":
        content = report.weekly_report_html(database, as_of)
    else:
        content = report.weekly_report_pdf(database, as_of)
    written = write_atomically(args.out, content, data_dir=database.catalog.data_dir)
    if written:
        print(f"wrote {args.format} report as of {as_of} to {written}", file=sys.stderr)
    return 0


def command_scores(args) -> int:
    """Write one row of churn scores per customer with a valid order by the as-of date (CSV)."""
    from dashboard import churn
    from dashboard.outputs import csv_writer, write_atomically

    database = _open_database(args)
    if not database.has_orders:
        return _refuse(f"cannot score customers: {checks.why_no_orders(database.findings())}")
    refused = _incomplete_refusal(database, args, "score customers")
    if refused is not None:
        return refused
    as_of = args.as_of or database.default_as_of()
    cursor = database.cursor(as_of, model=False)
    try:
        scores, model = churn.score_table(cursor, include_email=database.settings.show_pii)
    finally:
        cursor.close()
    written = write_atomically(args.out, csv_writer(scores), data_dir=database.catalog.data_dir)
    if model.message:
        print(f"warning: {model.message}", file=sys.stderr)
    if written:
        print(f"wrote churn scores of {scores.num_rows:,} customers as of {as_of} to {written}", file=sys.stderr)
    return 0


def command_prepare_spark(args) -> int:
    """Build the whole graph on Spark and write it as Parquet plus a manifest to --out (see dashboard/engines/spark.py)."""
    try:
        from dashboard.engines import spark as spark_engine
        import pyspark  # noqa: F401
    except ImportError as error:
        print(f"error: the Spark engine needs pyspark and sqlglot ({error.name} is missing): "
              "pip install -r requirements-spark.txt", file=sys.stderr)
        return 2
    if args.out is None:
        print("error: --engine spark needs --out FOLDER (where the Parquet tables and manifest go)", file=sys.stderr)
        return 2
    settings = load_settings(data_dir=args.data, timezone=getattr(args, "timezone", None))
    started = time.perf_counter()
    session = spark_engine.session(args.master)

    def progress(node: str, seconds: float) -> None:
        print(f"  {node}: {seconds:.1f} s", file=sys.stderr)

    manifest, _ = spark_engine.prepare(session, settings.data_dir, args.out, args.as_of, settings.timezone,
                                       progress=progress)
    for node, reason in manifest["unavailable"].items():
        print(f"warning: {node} not built: {reason}", file=sys.stderr)
    print(f"prepared {len(manifest['tables'])} tables of {len(manifest['nodes'])} nodes as of {manifest['as_of']} on "
          f"Spark {manifest['spark_version']} ({session.sparkContext.master if hasattr(session, 'sparkContext') else 'remote'}) "
          f"in {time.perf_counter() - started:.1f} s: {args.out}; serve it with DASHBOARD_PREPARED_DIR={args.out}",
          file=sys.stderr)
    return 0


def command_winback(args) -> int:
    """Write the campaign-ready win-back list for the churn page's rules (CSV, and a JSON description next to
    it), exactly the file the page's download gives, and record its holdout in the state folder."""
    from dashboard import access, winback
    from dashboard.outputs import write_atomically

    database = _open_database(args)
    if not database.has_orders:
        problems = [finding.line() for finding in database.findings() if finding.level == "ERROR"]
        print("cannot build the list, orders are not usable:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    request = winback.parse_list_query(args.rules, database.default_as_of())
    if args.as_of:
        request = winback.ListRequest(args.as_of, request.rules, request.segment, request.options)
    user = access.resolve_access(database.settings, None, False)
    if not user.can_see_customers:
        print(f"error: the role {user.role!r} sees aggregates only; customer lists need the analyst or marketing "
              "role (default_role)", file=sys.stderr)
        return 2
    cursor = database.cursor(request.as_of, model=False)
    try:
        request = winback.resolve_complaint_categories(cursor, request)
        export = winback.build_export(cursor, request, user.can_see_pii, winback.opt_in_is_exported(database))
    finally:
        cursor.close()
    written = write_atomically(args.out, export.csv_text, data_dir=database.catalog.data_dir)
    description = json.dumps(export.description(), indent=2) + "\n"
    if written:
        write_atomically(written.with_suffix(".json"), description, data_dir=database.catalog.data_dir)
    record = winback.record_campaign(database.settings.state_dir, export, user.user, database.settings.timezone)
    access.record_download(database.settings.state_dir, user, "win-back list (command line)",
                           {**request.segment.params(), **request.rules.params()}, export.exported,
                           request.file_name())
    print(f"{export.exported:,} of {export.matched:,} matching customers as of {request.as_of} "
          f"({export.excluded_not_opted_in:,} without marketing opt-in left out, {len(export.holdout):,} held out "
          f"as campaign {request.campaign_id}, recorded in {record})"
          + (f"; wrote {written} and {written.with_suffix('.json')}" if written else ""), file=sys.stderr)
    if export.emails_masked:
        print("e-mails are masked: the marketing role (DASHBOARD_SHOW_PII=1 or default_role = marketing) writes "
              "real addresses", file=sys.stderr)
    return 0


def command_prepare(args) -> int:
    """Build the model, every page's aggregates and the churn scores, and save them as this export's snapshot.

    The model is built in the snapshot's file from the start (not in memory and then copied).
    With ``--engine spark`` the same graph is built on Spark and written to ``--out`` instead.
    """
    if args.engine == "spark":
        return command_prepare_spark(args)
    database = _open_database(args, build_in_file=True)
    try:
        return _prepare(database, args)
    finally:
        database.close()  # a model file left half-built (a refusal, a full disk, Ctrl-C) is removed


def _prepare(database, args) -> int:
    if not database.has_orders:
        return _refuse(f"cannot prepare the model: {checks.why_no_orders(database.findings())}")
    refused = _incomplete_refusal(database, args, "prepare the model")
    if refused is not None:
        return refused
    if database.snapshot is not None:
        print(f"already prepared: {database.snapshot} holds the model of these exports", file=sys.stderr)
        return 0
    started = time.perf_counter()
    as_of = args.as_of or database.default_as_of()
    problems = database.prepare(as_of)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    path = database.snapshot_path
    if not database.settings.model_snapshots:
        print("model snapshots are off (model_snapshots = false): aggregates built, nothing saved", file=sys.stderr)
    elif path.is_file():
        print(f"prepared the model as of {as_of} in {time.perf_counter() - started:.1f} s: {path} "
              f"({path.stat().st_size / 1e6:,.0f} MB)", file=sys.stderr)
        failed = [problem.split(":", 1)[0] for problem in problems
                  if not problem.startswith("model snapshot not saved")]
        if failed:  # saved without them: a job that runs prepare must not take it for a whole model
            print(f"error: {len(failed)} of the model's tables could not be built ({', '.join(failed)}; see the "
                  "warnings above), nor the tables that read them: the snapshot was saved without them, and the "
                  "pages that read them say so", file=sys.stderr)
            return 1
    else:
        saving = [problem for problem in problems if problem.startswith("model snapshot not saved")]
        failed = [problem for problem in problems if problem not in saving]  # a table that could not be built
        reason = "; ".join(failed[:1] + saving) or database.unsaved_reason()
        what = "the model could not be built and saved" if failed else "the model was built but not saved"
        return _refuse(f"{what}: {reason}")
    return 0


def command_backtest(args) -> int:
    """Fit the churn model at the cutoff and print how it ranked what happened next, against recency."""
    from dashboard import churn

    database = _open_database(args)
    if not database.has_orders:
        return _refuse(f"cannot backtest: {checks.why_no_orders(database.findings())}")
    result = churn.backtest(database, args.cutoff, args.horizon_days)
    print(churn.backtest_table(result))
    return 0


def command_alerts(args) -> int:
    """Check the ``[[alerts]]`` rules: one ALERT line per rule crossed; exit 1 if any fired, 2 on a bad rule."""
    from dashboard import alerts

    database = _open_database(args)
    try:
        rules = alerts.rules(database.settings)
    except alerts.AlertRuleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not rules:
        print("no alert rules: add [[alerts]] tables to dashboard.toml (README, Alerts)", file=sys.stderr)
        return 0
    if not database.has_orders:
        problems = [finding.line() for finding in database.findings() if finding.level == "ERROR"]
        print("cannot check alerts, orders are not usable:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    as_of = args.as_of or database.default_as_of()
    try:
        outcomes = alerts.evaluate(database, as_of, rules)
    except alerts.AlertRuleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        if outcome.fired:
            print(outcome.line())
        elif outcome.note:
            print(f"not checked: {outcome.rule.name}: {outcome.note} as of {as_of}", file=sys.stderr)
    fired = len(alerts.fired(outcomes))
    print(f"{len(rules)} alert rule{'s' if len(rules) != 1 else ''} checked as of {as_of}: {fired} fired",
          file=sys.stderr)
    return 1 if fired else 0


def command_send_report(args) -> int:
    """E-mail the weekly review (summary in the body, the review attached) and the fired alerts over SMTP."""
    from dashboard import alerts, delivery

    database = _open_database(args)
    smtp = database.settings.smtp
    try:
        to = delivery.recipients(args.to)
    except delivery.DeliveryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not smtp.host or not smtp.sender:
        print("error: no SMTP server to send with: set host and from in [smtp] of dashboard.toml "
              "(README, Scheduled delivery)", file=sys.stderr)
        return 2
    if not database.has_orders:
        problems = [finding.line() for finding in database.findings() if finding.level == "ERROR"]
        print("cannot build the report, orders are not usable:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    try:  # a wrong port, password or TLS setting is said now, not after building the review
        delivery.check(smtp)
    except delivery.DeliveryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    as_of = args.as_of or database.default_as_of()
    try:
        outcomes = alerts.evaluate(database, as_of, alerts.rules(database.settings))
    except alerts.AlertRuleError as error:  # the review still goes out, saying the rules could not be checked
        print(f"warning: {error}", file=sys.stderr)
        outcomes = None
    message = delivery.compose(database, as_of, to, smtp.sender, args.format, outcomes)
    try:
        delivery.send(message, smtp)
    except delivery.DeliveryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"sent \"{message['Subject']}\" to {', '.join(to)} through {smtp.host}:{smtp.port} "
          f"({args.format} attached)", file=sys.stderr)
    return 0


def command_graph(args) -> int:
    """Print (or write) the build graph: what each derived table reads and what builds it."""
    from dashboard import graph
    from dashboard.outputs import write_atomically

    render = {"text": graph.describe, "mermaid": graph.mermaid, "dot": graph.dot}[args.format]
    content = render(with_queries=not args.no_queries) if args.format != "text" else render()
    written = write_atomically(args.out, content)
    if written:
        print(f"wrote the build graph ({args.format}) to {written}", file=sys.stderr)
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo-data", help="write synthetic demo exports")
    demo.add_argument("--out", required=True, type=Path, help="folder to write the exports to")
    demo.add_argument("--customers", type=int, default=50_000, help="number of customers (default 50,000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.set_defaults(handler=command_demo_data)

    prepare = commands.add_parser("prepare-demo", help="write the demo exports if no data is configured (make run)")
    prepare.set_defaults(handler=command_prepare_demo)

    validate = commands.add_parser("validate", help="check the exports against the contract")
    validate.add_argument("--data", type=Path, help="data folder (default: settings)")
    validate.add_argument("--verbose", action="store_true", help="also print INFO findings")
    validate.set_defaults(handler=command_validate)

    report = commands.add_parser("report", help="metrics report (json) or weekly review (html, pdf)")
    report.add_argument("--data", type=Path, help="data folder (default: settings)")
    report.add_argument("--as-of", type=_parse_date, help="as-of date YYYY-MM-DD (default: latest order)")
    report.add_argument("--allow-incomplete", action="store_true",
                        help="go on when some files of a table cannot be read (the numbers then exclude them)")
    report.add_argument("--format", choices=("json", "html", "pdf"), default="json")
    report.add_argument("--out", required=True, help="output file, or - for stdout")
    report.set_defaults(handler=command_report)

    scores = commands.add_parser("scores", help="churn scores per customer (CSV; docs/churn.md)")
    scores.add_argument("--data", type=Path, help="data folder (default: settings)")
    scores.add_argument("--as-of", type=_parse_date, help="as-of date YYYY-MM-DD (default: latest order)")
    scores.add_argument("--allow-incomplete", action="store_true",
                        help="go on when some files of a table cannot be read (the numbers then exclude them)")
    scores.add_argument("--out", required=True, help="output CSV file (not inside the data folder), or - for stdout")
    scores.set_defaults(handler=command_scores)

    winback_list = commands.add_parser(
        "winback", help="the churn page's campaign-ready win-back list (CSV + JSON description; docs/churn.md)")
    winback_list.add_argument("--data", type=Path, help="data folder (default: settings)")
    winback_list.add_argument("--rules", required=True,
                              help="the churn page's URL query string, e.g. \"state=slipping&holdout=10\"")
    winback_list.add_argument("--as-of", type=_parse_date,
                              help="as-of date YYYY-MM-DD (default: the rules' as_of, else the latest order)")
    winback_list.add_argument("--out", required=True, help="output CSV file (not inside the data folder)")
    winback_list.set_defaults(handler=command_winback)

    prepare_model = commands.add_parser(
        "prepare", help="build the model, aggregates and scores once and save them, so later starts on these "
                        "exports (app, report, scores) take a second; run it after each new export")
    prepare_model.add_argument("--data", type=Path, help="data folder (default: settings)")
    prepare_model.add_argument("--as-of", type=_parse_date, help="as-of date YYYY-MM-DD (default: latest order)")
    prepare_model.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                               help="duckdb (default: a snapshot in the state folder) or spark (Parquet in --out; "
                                    "needs requirements-spark.txt)")
    prepare_model.add_argument("--out", type=Path, help="with --engine spark: the folder to write (served with "
                                                        "DASHBOARD_PREPARED_DIR)")
    prepare_model.add_argument("--master", help="with --engine spark: the Spark master (default: the session the "
                                                "environment provides, SPARK_REMOTE, else local[*])")
    prepare_model.add_argument("--allow-incomplete", action="store_true",
                        help="go on when some files of a table cannot be read (the numbers then exclude them)")
    prepare_model.set_defaults(handler=command_prepare)

    alert = commands.add_parser("alerts", help="check the [[alerts]] rules of dashboard.toml: exit 1 if any fired")
    alert.add_argument("--data", type=Path, help="data folder (default: settings)")
    alert.add_argument("--as-of", type=_parse_date, help="as-of date YYYY-MM-DD (default: latest order)")
    alert.set_defaults(handler=command_alerts)

    send = commands.add_parser("send-report", help="e-mail the weekly review and the fired alerts ([smtp] settings)")
    send.add_argument("--to", required=True, help="recipients, separated by commas: a@x.com,b@y.com")
    send.add_argument("--format", choices=("html", "pdf"), default="html", help="the attached review (default html)")
    send.add_argument("--data", type=Path, help="data folder (default: settings)")
    send.add_argument("--as-of", type=_parse_date, help="as-of date YYYY-MM-DD (default: latest order)")
    send.set_defaults(handler=command_send_report)

    backtest = commands.add_parser("backtest", help="backtest the churn model against a recency baseline")
    backtest.add_argument("--data", type=Path, help="data folder (default: settings)")
    backtest.add_argument("--cutoff", required=True, type=_parse_date, help="fit on what was known on this date")
    backtest.add_argument("--horizon-days", type=_positive_int, default=90,
                          help="days after the cutoff to compare with (default 90)")
    backtest.set_defaults(handler=command_backtest)

    build_graph = commands.add_parser(
        "graph", help="show the build graph: every derived table, what builds it and what it reads (docs/graph.md)")
    build_graph.add_argument("--format", choices=("text", "mermaid", "dot"), default="text",
                             help="text (default), a Mermaid flowchart or Graphviz DOT")
    build_graph.add_argument("--out", default="-", help="output file, or - for stdout (default)")
    build_graph.add_argument("--no-queries", action="store_true",
                             help="Mermaid/DOT: leave out the queries (only the nodes that are built)")
    build_graph.set_defaults(handler=command_graph)
    return parser


def _run_once_more_without_a_damaged_snapshot(args) -> int:
    """Run the command; when it fails because the model snapshot it read is damaged (a flipped bit fails a block's
    checksum), move that snapshot to quarantine, say so, and run the command again on the exports."""
    from dashboard import snapshots

    _SNAPSHOTS_READ.clear()
    try:
        return args.handler(args)
    except Exception as error:
        damaged = [path for path in _SNAPSHOTS_READ if path.exists()]
        if not (snapshots.is_damage(error) and damaged):
            raise
        for path in damaged:
            moved = snapshots.quarantine(path)
            where = f"moved it to {moved}" if moved else "removed it"
            print(f"warning: the model snapshot {path.name} is damaged ({str(error).splitlines()[0][:200]}); "
                  f"{where} and built the model from the exports (run prepare to save a new one)", file=sys.stderr)
        _SNAPSHOTS_READ.clear()
        return args.handler(args)


def main(argv: list[str] | None = None) -> int:
    """Run a command; print a one-line error instead of a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return _run_once_more_without_a_damaged_snapshot(args)
    except (SettingsError, OSError, ValueError, RuntimeError, duckdb.Error) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # last resort: one line, never a traceback
        print(f"error: unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
              file=sys.stderr)
        return 2
