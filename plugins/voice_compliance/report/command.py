"""``python -m voice_compliance report``: write the monthly compliance reports.

Kept light to import (``cli.build_parser`` imports it to build ``--help``):
the report machinery (DuckDB, altair, Jinja2) is imported when the command runs.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``report`` command's options."""
    parser.add_argument("--warehouse", help="DuckDB file (default: VC_WAREHOUSE)")
    parser.add_argument(
        "--month",
        action="append",
        metavar="YYYY-MM",
        help=(
            "month to report (repeatable; 'latest' for the newest month in the marts). "
            "Default: every month in the marts"
        ),
    )
    parser.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write ``<data_dir>/reports/compliance-<YYYY-MM>.html`` per month; print each path."""
    from voice_compliance.cli import CommandError
    from voice_compliance.config import Settings
    from voice_compliance.report.build import ReportError, build_reports

    settings = Settings.from_env(warehouse=args.warehouse)
    if not settings.warehouse.is_file():
        raise CommandError(f"no warehouse at {settings.warehouse}: run the pipeline first")
    asked = list(args.month or [])
    latest = "latest" in asked
    months = [m for m in asked if m != "latest"]
    try:
        written = build_reports(settings, months or None, latest=latest and not months)
    except ReportError as exc:
        raise CommandError(str(exc)) from None
    for path in written:
        print(path)
    return 0
