"""The settings check: every configuration problem, before any data moves.

``problems(settings)`` lists what would make a run fail late or, worse,
succeed wrongly: a landing folder that does not exist (a run would load zero
files and report success), a malformed ``s3://`` URL, a default region
phonenumbers does not know (every national number would turn invalid), a
loader default region that disagrees with ``policy.yml``, an invalid policy
file, a warehouse or data folder that cannot be written, and Airflow
connections the configuration names but nobody defined.

Each problem is one line naming the setting and its value
(``VC_LANDING=/does/not/exist: landing folder does not exist``). The rules
themselves live where the settings do: ``config`` (URLs, regions),
``policy.load_policy``, ``tickets.settings``, ``notify.slack``,
``twilio.config``; this module only asks them.

Used by ``python -m voice_compliance check`` (and before ``run`` and
``demo``) and by the ``check_settings`` task every DAG starts with
(``dag_support.check_settings_task``). Connections are looked up through a
``ConnectionLookup``: inside Airflow, Airflow's own lookup
(``airflow_lookup``); in the command line, the ``AIRFLOW_CONN_*``
environment variables, then the CLI's Airflow metadata database in a child
process (``cli_lookup``), so the CLI never imports Airflow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from voice_compliance.config import REPO_ROOT, Settings, landing_url_problem, region_problem

ConnectionLookup = Callable[[Sequence[str]], dict[str, str]]
"""Given connection ids, return ``{conn_id: why}`` for those that are not defined."""


class SettingsInvalid(ValueError):
    """The settings check found problems; ``problems`` holds one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} settings problem(s):\n{lines}")


@dataclass(frozen=True)
class Scope:
    """What a job needs, so a check never rejects a setting the job does not use.

    ``landing``: check the landing-zone address; ``landing_must_exist``: a
    local landing folder must exist (not before ``demo`` generates it);
    ``twilio``: the Twilio connection must be defined and valid even when
    ``VC_TWILIO_CONN_ID`` is unset; ``airflow_home``: the CLI's Airflow home
    must be writable.
    """

    landing: bool = True
    landing_must_exist: bool = True
    twilio: bool = False
    airflow_home: bool = False


def check(
    settings: Settings, scope: Scope = Scope(), lookup: ConnectionLookup | None = None
) -> None:
    """Raise ``SettingsInvalid`` listing every problem ``problems`` finds."""
    found = problems(settings, scope, lookup)
    if found:
        raise SettingsInvalid(found)


def problems(
    settings: Settings, scope: Scope = Scope(), lookup: ConnectionLookup | None = None
) -> list[str]:
    """Every problem of ``settings`` for a job of ``scope``, one line each (empty: fine).

    ``lookup`` finds undefined Airflow connections (default: environment
    variables only, ``env_lookup``).
    """
    found: list[str] = []
    if scope.landing:
        found += _landing(settings.landing, scope.landing_must_exist)
    found += _writable_file("VC_WAREHOUSE", settings.warehouse, "warehouse")
    found += _writable_folder("VC_DATA_DIR", settings.data_dir, "data folder")
    if scope.airflow_home:
        found += _writable_folder("VC_AIRFLOW_HOME", settings.airflow_home, "Airflow home")
    found += _regions(settings)
    found += _connections(settings, scope, lookup or env_lookup)
    return found


# --- landing zone, folders ------------------------------------------------------


def _landing(landing: str, must_exist: bool) -> list[str]:
    where = f"VC_LANDING={landing}"
    problem = landing_url_problem(landing)
    if problem:
        return [f"{where}: {problem}"]
    if landing.startswith("s3://"):
        return []
    path = Path(landing)
    if not path.exists():
        return [f"{where}: landing folder does not exist"] if must_exist else []
    if not path.is_dir():
        return [f"{where}: not a folder"]
    if not os.access(path, os.R_OK | os.X_OK):
        return [f"{where}: landing folder is not readable"]
    return []


def _writable_file(name: str, path: Path, what: str) -> list[str]:
    where = f"{name}={path}"
    if path.is_dir():
        return [f"{where}: is a folder, not the {what} file"]
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return [f"{where}: {what} file is not writable"]
    return _writable_folder(name, path.parent, f"{what} folder", where=where)


def _writable_folder(name: str, path: Path, what: str, where: str | None = None) -> list[str]:
    """The folder must be writable, or creatable under its nearest existing ancestor."""
    where = where or f"{name}={path}"
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return [f"{where}: {what} {path} cannot be created: {probe} is not a folder"]
    if not os.access(probe, os.W_OK | os.X_OK):
        verb = "is not writable" if probe == path else f"cannot be created: {probe} is read-only"
        return [f"{where}: {what} {path} {verb}"]
    return []


# --- regions and the policy -----------------------------------------------------


def _regions(settings: Settings) -> list[str]:
    """The loader's default region, the policy file, and whether they agree."""
    from voice_compliance.policy import POLICY_FILE_ENV, PolicyError, load_policy, policy_path

    found: list[str] = []
    region = settings.default_region
    problem = region_problem(region)
    if problem:
        found.append(f"VC_DEFAULT_REGION={region}: {problem}")
    path = policy_path(settings.policy_file)
    label = f"{POLICY_FILE_ENV}={path}" if settings.policy_file else _short(path)
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        return [*found, *(f"{label}: {p}" for p in exc.problems)]
    problem = region_problem(policy.default_region)
    if problem:
        found.append(f"{label}: default_region: {problem}")
    for key in (
        "consent_accepted_types_by_country",
        "optout_honor_window_by_country",
        "dnc_registries_by_country",
        "calling_hours_by_country",
        "calling_hours_holidays",
    ):
        for country in getattr(policy, key):
            if region_problem(country):
                found.append(f"{label}: {key}: unknown country {country!r} (phonenumbers region)")
    if policy.default_region != region and not region_problem(region):
        where = f"VC_DEFAULT_REGION={region}"
        if "default_region" not in settings.load.model_fields_set:
            where += " (unset: the default)"
        found.append(
            f"{where}: disagrees with default_region {policy.default_region} in "
            f"{_short(path)}: the loader would read national numbers as {region}, the "
            f"compliance checks as {policy.default_region}; set both to the same region"
        )
    return found


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# --- Airflow connections --------------------------------------------------------


def named_connections(settings: Settings) -> tuple[list[tuple[str, str]], list[str]]:
    """``([(setting, conn_id), ...], problems)``: the connections the configuration
    names, and problems reading the settings that name them."""
    named: list[tuple[str, str]] = []
    found: list[str] = []
    if settings.aws_conn_id:
        named.append(("VC_AWS_CONN_ID", settings.aws_conn_id))
    # Slack: without its connection messages wait in the outbox (the embedded
    # default), so only a connection someone named explicitly is required.
    if settings.slack.conn_id:
        named.append(("VC_SLACK_CONN_ID", settings.slack.conn_id))
    try:
        from voice_compliance.tickets.settings import TicketSinkSettings

        sink = TicketSinkSettings.from_settings(settings.tickets)
    except ValueError as exc:
        found.append(f"VC_TICKET_SINK={settings.tickets.sink}: {exc}")
    else:
        if sink.sink != "table":  # an HTTP sink posts through its connection
            named.append(("VC_TICKET_CONN_ID", sink.conn_id))
    return named, found


def _connections(settings: Settings, scope: Scope, lookup: ConnectionLookup) -> list[str]:
    named, found = named_connections(settings)
    twilio = _twilio_conn_id(settings, scope)
    ids = sorted({conn_id for _, conn_id in named} | ({twilio} if twilio else set()))
    missing = lookup(ids) if ids else {}
    for setting, conn_id in named:
        if conn_id in missing:
            found.append(_missing(setting, conn_id, missing[conn_id]))
    if twilio:
        if twilio in missing:
            found.append(_missing("VC_TWILIO_CONN_ID", twilio, missing[twilio]))
        else:
            found += _twilio_config(twilio)
    return found


def _missing(setting: str, conn_id: str, why: str) -> str:
    return (
        f"{setting}={conn_id}: Airflow connection {conn_id!r} is not defined ({why}); "
        f"define AIRFLOW_CONN_{conn_id.upper()} or add it in Airflow"
    )


def _twilio_conn_id(settings: Settings, scope: Scope) -> str | None:
    """The Twilio connection, when the pull is configured (or the job is the pull)."""
    try:
        from voice_compliance.twilio.config import DEFAULT_CONN_ID
    except ImportError:  # pragma: no cover - the Twilio package is optional here
        return None
    if scope.twilio or settings.twilio.conn_id:
        return settings.twilio.conn_id or DEFAULT_CONN_ID
    return None


def _twilio_config(conn_id: str) -> list[str]:
    """The Twilio connection's own validation, where it needs no Airflow import here."""
    from voice_compliance.twilio.config import TwilioConfigError, load_config

    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}", "")
    if not raw.lstrip().startswith("{") and "airflow" not in sys.modules:
        return []  # defined elsewhere: validated by the pull itself
    try:
        load_config(conn_id)
    except TwilioConfigError as exc:
        return [f"VC_TWILIO_CONN_ID={conn_id}: {exc}"]
    return []


def env_lookup(conn_ids: Sequence[str]) -> dict[str, str]:
    """Connections without an ``AIRFLOW_CONN_<ID>`` environment variable."""
    return {
        c: f"no AIRFLOW_CONN_{c.upper()}"
        for c in conn_ids
        if not os.environ.get(f"AIRFLOW_CONN_{c.upper()}")
    }


def airflow_lookup(conn_ids: Sequence[str]) -> dict[str, str]:
    """Inside an Airflow task: Airflow's own lookup (environment, secrets, API server)."""
    from airflow.sdk import BaseHook

    missing: dict[str, str] = {}
    for conn_id in conn_ids:
        try:
            BaseHook.get_connection(conn_id)
        except Exception as exc:  # AirflowNotFoundException, an unreachable backend
            missing[conn_id] = type(exc).__name__
    return missing


_LOOKUP_SCRIPT = """
import json, sys
from airflow.models.connection import Connection
missing = {}
for conn_id in sys.argv[1:]:
    try:
        Connection.get_connection_from_secrets(conn_id)
    except Exception as exc:
        missing[conn_id] = type(exc).__name__
print("VC_MISSING " + json.dumps(missing))
"""


def cli_lookup(settings: Settings) -> ConnectionLookup:
    """For the command line: environment variables first, then (for the rest) the
    CLI's Airflow metadata database, read by Airflow in a child process."""

    def lookup(conn_ids: Sequence[str]) -> dict[str, str]:
        rest = env_lookup(conn_ids)
        if not rest:
            return {}
        if not (settings.airflow_home / "airflow.db").is_file():
            return {c: f"{why}, no Airflow database yet" for c, why in rest.items()}
        from voice_compliance.airflow_runner import airflow_env

        try:
            done = subprocess.run(
                [sys.executable, "-c", _LOOKUP_SCRIPT, *rest],
                env=airflow_env(settings),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {c: f"lookup failed: {type(exc).__name__}" for c in rest}
        for line in done.stdout.splitlines():
            if line.startswith("VC_MISSING "):
                found = json.loads(line.removeprefix("VC_MISSING "))
                return {c: f"{rest[c]} nor in the Airflow database" for c in found}
        return {c: f"lookup failed (exit code {done.returncode})" for c in rest}

    return lookup
