"""The policy configuration: ``dbt_project/policy.yml`` as a typed, validated object.

``policy.yml`` holds every threshold, window and list the compliance checks
use. dbt receives it as ``--vars`` (``policy_vars()``, used by the dbt runner
and the Cosmos DAG); the expectation suites read the same ``Policy`` object.
Nothing else may hold those numbers.

``load_policy`` checks every key the checks rely on and reports *all* problems
at once, each with its key path (``optout_honor_window_by_country.US.kind:
expected one of business, calendar, got 'weekly'``). Top-level keys this module
does not know are kept and passed to dbt unchanged (``Policy.extra``), so a new
var can be added to the file before any Python reads it.

The optional ``routing`` section (decision 0016) maps each owner named in
``clauses`` and ``data_quality`` to where its alerts go: a Slack connection
id, a Jira assignee and component; ``routing.default`` covers owners without
an entry and the fields an entry leaves out (``Policy.route``).

The file is read with ``yaml.safe_load`` only: this module is imported by DAG
files at parse time and stays light.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from voice_compliance.config import REPO_ROOT

DEFAULT_POLICY_FILE = REPO_ROOT / "dbt_project" / "policy.yml"
POLICY_FILE_ENV = "VC_POLICY_FILE"
"""Environment variable that points at another policy file."""

CLAUSE_IDS: tuple[str, ...] = (
    "consent.prior_consent",
    "disclosure.identity_purpose",
    "optout.mechanism",
    "optout.honored",
    "dnc.registry",
    "dnc.registry_freshness",
    "callerid.misleading",
    "complaints.rate",
    "unanswered.volume",
    "duration.average",
    "country.calling_hours",
    "cps.multi_region",
)
"""The twelve clauses of ``policy-rules.md``; the file must configure each one."""

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
HONOR_WINDOW_KINDS: tuple[str, ...] = ("business", "calendar")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ROUTE_FIELDS: tuple[str, ...] = ("slack_conn_id", "jira_assignee", "jira_component")
"""What a ``routing`` entry may set; each is optional."""

_CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_CODE = re.compile(r"^[A-Z]{2}$")


class PolicyError(ValueError):
    """The policy file is missing, unreadable or invalid; ``problems`` lists why."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid policy file {path}:\n{lines}")


@dataclass(frozen=True)
class ClausePolicy:
    """Routing of one clause: how bad a violation is and who owns it."""

    severity: str
    owner: str


@dataclass(frozen=True)
class DataQualityPolicy:
    """Thresholds of the data-quality suites: not clauses, but the data they stand on."""

    severity: str
    owner: str
    min_valid_callee_share: float
    max_unclassified_share: float


@dataclass(frozen=True)
class Route:
    """Where one owner's alerts go. ``None`` = not set here.

    ``slack_conn_id`` names an Airflow connection (type ``slackwebhook``)
    that holds the webhook of the owner's channel, never the URL itself;
    ``jira_assignee`` and ``jira_component`` are set on the Jira issues of
    the owner's tickets.
    """

    slack_conn_id: str | None = None
    jira_assignee: str | None = None
    jira_component: str | None = None


@dataclass(frozen=True)
class Routing:
    """The ``routing`` section: a default route and one route per owner."""

    default: Route = field(default_factory=Route)
    owners: Mapping[str, Route] = field(default_factory=dict)

    def route(self, owner: str | None) -> Route:
        """The route of ``owner``: its own fields, the default's where it sets none.

        An owner without an entry (or ``None``) gets the default route.
        """
        own = self.owners.get(owner or "")
        if own is None:
            return self.default
        return Route(
            slack_conn_id=own.slack_conn_id or self.default.slack_conn_id,
            jira_assignee=own.jira_assignee or self.default.jira_assignee,
            jira_component=own.jira_component or self.default.jira_component,
        )


@dataclass(frozen=True)
class HonorWindow:
    """How long an opt-out may take to honour: ``days`` business or calendar days."""

    days: int
    kind: str


@dataclass(frozen=True)
class TimeWindow:
    """A half-open local-time window ``[start, end)`` as ``HH:MM`` strings
    (``end`` may be ``24:00``); strings compare correctly in this format."""

    start: str
    end: str


WeeklyHours = Mapping[str, tuple[TimeWindow, ...]]
"""Allowed calling windows per weekday (``mon`` ... ``sun``); empty = no calls."""


@dataclass(frozen=True)
class Policy:
    """Every threshold of the compliance checks, as read from ``policy.yml``.

    Field names are the file's keys; mappings keyed by country use ISO 3166
    alpha-2 codes. ``source`` is the file read; ``extra`` holds top-level keys
    this class does not model (passed to dbt unchanged).
    """

    default_region: str
    outbound_directions: tuple[str, ...]
    answered_status: str
    treat_unclassified_as_telemarketing: bool
    clauses: Mapping[str, ClausePolicy]
    consent_channels: tuple[str, ...]
    consent_accepted_types_default: tuple[str, ...]
    consent_accepted_types_by_country: Mapping[str, tuple[str, ...]]
    disclosure_max_offset_s: int
    optout_honor_window_default: HonorWindow
    optout_honor_window_by_country: Mapping[str, HonorWindow]
    dnc_registries_by_country: Mapping[str, tuple[str, ...]]
    dnc_registry_max_age_days: Mapping[str, int]
    dnc_exemption_consent_types: tuple[str, ...]
    dnc_ebr_purchase_days: int
    dnc_ebr_inquiry_days: int
    callerid_inventory_kinds: tuple[str, ...]
    complaints_min_count: int
    complaints_max_per_1000: float
    unanswered_min_attempts: int
    unanswered_max_ratio: float
    unanswered_max_count: int
    acd_min_answered: int
    acd_min_seconds: float
    short_call_max_seconds: int
    calling_hours_default: WeeklyHours
    calling_hours_by_country: Mapping[str, WeeklyHours]
    calling_hours_by_us_state: Mapping[str, WeeklyHours]
    calling_hours_holidays: Mapping[str, tuple[date, ...]]
    cps_bucket_seconds: int
    cps_hot_share_of_allotted: float
    cps_min_hot_regions: int
    cps_window_hours: int
    cps_max_concurrent_hot_hours: int
    data_quality: DataQualityPolicy
    source: Path = field(compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict)
    routing: Routing = field(default_factory=Routing)
    _vars: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def clause(self, clause_id: str) -> ClausePolicy:
        """Severity and owner of ``clause_id``; ``KeyError`` names the known ids."""
        try:
            return self.clauses[clause_id]
        except KeyError:
            known = ", ".join(CLAUSE_IDS)
            raise KeyError(f"unknown clause {clause_id!r}; known: {known}") from None

    @property
    def owners(self) -> tuple[str, ...]:
        """Every owner the file names (clauses and data_quality), sorted."""
        names = {c.owner for c in self.clauses.values()} | {self.data_quality.owner}
        return tuple(sorted(names))

    def clause_owner(self, clause_id: str) -> str:
        """The owner of ``clause_id``, or of the data-quality checks for ``data_quality``."""
        if clause_id == "data_quality":
            return self.data_quality.owner
        return self.clause(clause_id).owner

    def route(self, owner: str | None) -> Route:
        """Where ``owner``'s alerts go (``routing``; the default when not routed)."""
        return self.routing.route(owner)

    def accepted_consent_types(self, country: str | None) -> tuple[str, ...]:
        """Consent types that count as prior consent for callees in ``country``."""
        by_country = self.consent_accepted_types_by_country
        return by_country.get(country or "", self.consent_accepted_types_default)

    def honor_window(self, country: str | None) -> HonorWindow:
        """The opt-out honour window for callees in ``country``."""
        by_country = self.optout_honor_window_by_country
        return by_country.get(country or "", self.optout_honor_window_default)

    def calling_hours(self, country: str | None, us_state: str | None = None) -> WeeklyHours:
        """Allowed calling windows: the US state's, else the country's, else the default."""
        if country == "US" and us_state in self.calling_hours_by_us_state:
            return self.calling_hours_by_us_state[us_state]
        return self.calling_hours_by_country.get(country or "", self.calling_hours_default)

    def to_vars(self) -> dict[str, Any]:
        """The dbt vars: the file's keys and values, JSON-serializable (dates as ISO text)."""
        return _jsonable(dict(self._vars))


def policy_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The policy file: ``path``, else ``$VC_POLICY_FILE``, else ``dbt_project/policy.yml``."""
    chosen = path or os.environ.get(POLICY_FILE_ENV) or DEFAULT_POLICY_FILE
    return Path(chosen).expanduser().resolve()


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Read and validate the policy file (see ``policy_path``).

    Raises ``PolicyError`` listing every problem when the file is missing,
    is not a YAML mapping, lacks a key, or holds a value of the wrong type
    or range.
    """
    source = policy_path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(source, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(source, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(document, dict):
        got = type(document).__name__
        raise PolicyError(source, [f"expected a mapping of settings at the top, got {got}"])
    reader = _Reader(document)
    policy = _build(reader, source)
    if reader.problems:
        raise PolicyError(source, reader.problems)
    assert policy is not None
    return policy


def policy_vars(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What dbt gets as ``--vars``: the validated policy file as plain data."""
    return load_policy(path).to_vars()


# --- validation -------------------------------------------------------------


class _Reader:
    """Reads typed values out of the YAML document, collecting problems."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.problems: list[str] = []

    def get(self, key: str, convert: Callable[[str, Any], Any]) -> Any:
        if key not in self.document:
            self.problems.append(f"{key}: missing (required)")
            return None
        return convert(key, self.document[key])

    def fail(self, key: str, expected: str, value: Any) -> None:
        self.problems.append(f"{key}: expected {expected}, got {value!r} ({type(value).__name__})")

    # Scalar converters: each returns the value or None after recording a problem.
    def text(self, key: str, value: Any) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        return self.fail(key, "a non-empty string", value)

    def flag(self, key: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        return self.fail(key, "true or false", value)

    def count(self, key: str, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        return self.fail(key, "a whole number >= 0", value)

    def positive(self, key: str, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return self.fail(key, "a whole number > 0", value)

    def number(self, key: str, value: Any) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return value
        return self.fail(key, "a number >= 0", value)

    def ratio(self, key: str, value: Any) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
            return value
        return self.fail(key, "a number between 0 and 1", value)

    def country(self, key: str, value: Any) -> str | None:
        return self._code(key, value, "country")

    def state(self, key: str, value: Any) -> str | None:
        return self._code(key, value, "US state")

    def _code(self, key: str, value: Any, what: str) -> str | None:
        if isinstance(value, str) and _CODE.match(value):
            return value
        if isinstance(value, bool):
            # YAML 1.1 reads NO (Norway), ON, YES... as booleans.
            return self.fail(key, f"a two-letter {what} code (quote codes like 'NO')", value)
        return self.fail(key, f"a two-letter upper-case {what} code", value)

    def choice(self, choices: tuple[str, ...]) -> Callable[[str, Any], str | None]:
        def convert(key: str, value: Any) -> str | None:
            if value in choices:
                return value
            return self.fail(key, f"one of {', '.join(choices)}", value)

        return convert

    # Container converters.
    def texts(self, key: str, value: Any) -> tuple[str, ...] | None:
        if not isinstance(value, list) or not value:
            return self.fail(key, "a non-empty list of strings", value)
        items = [self.text(f"{key}[{i}]", item) for i, item in enumerate(value)]
        return tuple(items) if None not in items else None

    def mapping(
        self,
        convert: Callable[[str, Any], Any],
        keys: Callable[[str, Any], Any] | None = None,
    ) -> Callable[[str, Any], dict[str, Any] | None]:
        """A converter for ``{key: value}`` whose values (and optionally keys) are checked."""

        def convert_mapping(key: str, value: Any) -> dict[str, Any] | None:
            if value is None:
                value = {}
            if not isinstance(value, dict):
                return self.fail(key, "a mapping", value)
            result: dict[str, Any] = {}
            for name, item in value.items():
                if keys is not None and keys(f"{key} key", name) is None:
                    continue
                result[str(name)] = convert(f"{key}.{name}", item)
            return result

        return convert_mapping

    def clause(self, key: str, value: Any) -> ClausePolicy | None:
        if not isinstance(value, dict):
            return self.fail(key, "a mapping {severity, owner}", value)
        severity = self._field(key, value, "severity", self.choice(SEVERITIES))
        owner = self._field(key, value, "owner", self.text)
        return None if None in (severity, owner) else ClausePolicy(severity, owner)

    def data_quality(self, key: str, value: Any) -> DataQualityPolicy | None:
        if not isinstance(value, dict):
            return self.fail(key, "a mapping {severity, owner, min_valid_callee_share, ...}", value)
        fields = {
            "severity": self._field(key, value, "severity", self.choice(SEVERITIES)),
            "owner": self._field(key, value, "owner", self.text),
            "min_valid_callee_share": self._field(
                key, value, "min_valid_callee_share", self.ratio
            ),
            "max_unclassified_share": self._field(
                key, value, "max_unclassified_share", self.ratio
            ),
        }
        return None if None in fields.values() else DataQualityPolicy(**fields)

    def conn_id(self, key: str, value: Any) -> str | None:
        if isinstance(value, str) and _CONN_ID.match(value):
            return value
        if isinstance(value, str) and "://" in value:
            # Never echo it: a webhook URL is a secret, and this message is logged.
            self.problems.append(
                f"{key}: expected an Airflow connection id, got a URL; put the webhook"
                " in an Airflow connection (type slackwebhook) and name that connection here"
            )
            return None
        return self.fail(key, "an Airflow connection id (letters, digits, _ . -)", value)

    def route(self, key: str, value: Any) -> Route | None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            return self.fail(key, f"a mapping with any of {', '.join(ROUTE_FIELDS)}", value)
        unknown = sorted(set(map(str, value)) - set(ROUTE_FIELDS))
        if unknown:
            self.problems.append(
                f"{key}: unknown key(s) {', '.join(unknown)}; expected any of"
                f" {', '.join(ROUTE_FIELDS)}"
            )
        fields = {
            "slack_conn_id": self.conn_id if "slack_conn_id" in value else None,
            "jira_assignee": self.text if "jira_assignee" in value else None,
            "jira_component": self.text if "jira_component" in value else None,
        }
        converted = {
            name: convert(f"{key}.{name}", value[name])
            for name, convert in fields.items()
            if convert is not None
        }
        if unknown or any(v is None for v in converted.values()):
            return None
        return Route(**converted)

    def routing(self, key: str, value: Any) -> Routing | None:
        if value is None:
            return Routing()
        if not isinstance(value, dict):
            return self.fail(key, "a mapping {default, owners}", value)
        unknown = sorted(set(map(str, value)) - {"default", "owners"})
        if unknown:
            self.problems.append(
                f"{key}: unknown key(s) {', '.join(unknown)}; expected default, owners"
            )
        default = self.route(f"{key}.default", value.get("default"))
        owners = self.mapping(self.route)(f"{key}.owners", value.get("owners"))
        if unknown or default is None or owners is None or None in owners.values():
            return None
        return Routing(default=default, owners=owners)

    def honor_window(self, key: str, value: Any) -> HonorWindow | None:
        if not isinstance(value, dict):
            return self.fail(key, "a mapping {days, kind}", value)
        days = self._field(key, value, "days", self.count)
        kind = self._field(key, value, "kind", self.choice(HONOR_WINDOW_KINDS))
        return None if None in (days, kind) else HonorWindow(days, kind)

    def weekly_hours(self, key: str, value: Any) -> dict[str, tuple[TimeWindow, ...]] | None:
        if not isinstance(value, dict):
            return self.fail(key, f"a mapping of the weekdays {', '.join(WEEKDAYS)}", value)
        unknown = sorted(set(map(str, value)) - set(WEEKDAYS))
        if unknown:
            self.problems.append(f"{key}: unknown weekday(s) {', '.join(unknown)}")
        days = {day: self._field(key, value, day, self.windows) for day in WEEKDAYS}
        return None if None in days.values() or unknown else days

    def windows(self, key: str, value: Any) -> tuple[TimeWindow, ...] | None:
        if value is None:
            value = []
        if not isinstance(value, list):
            return self.fail(key, 'a list of ["HH:MM", "HH:MM"] windows', value)
        windows = []
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not (
                isinstance(item, list)
                and len(item) == 2
                and all(isinstance(t, str) and _CLOCK.match(t) for t in item)
            ):
                self.fail(where, 'a window ["HH:MM", "HH:MM"] (quoted, 00:00-24:00)', item)
                continue
            if item[0] >= item[1]:
                self.problems.append(f"{where}: window start {item[0]} is not before end {item[1]}")
                continue
            windows.append(TimeWindow(item[0], item[1]))
        return tuple(windows) if len(windows) == len(value) else None

    def holidays(self, key: str, value: Any) -> tuple[date, ...] | None:
        if not isinstance(value, list):
            return self.fail(key, "a list of dates YYYY-MM-DD", value)
        days: list[date] = []
        for i, item in enumerate(value):
            try:
                days.append(item if isinstance(item, date) else date.fromisoformat(str(item)))
            except ValueError:
                self.fail(f"{key}[{i}]", "a date YYYY-MM-DD", item)
        return tuple(days) if len(days) == len(value) else None

    def _field(self, key: str, value: Mapping[str, Any], name: str, convert: Any) -> Any:
        if name not in value:
            self.problems.append(f"{key}.{name}: missing (required)")
            return None
        return convert(f"{key}.{name}", value[name])


_MODELLED_KEYS = frozenset(
    name for name in Policy.__dataclass_fields__ if name not in {"source", "extra", "_vars"}
)


def _build(r: _Reader, source: Path) -> Policy | None:
    """Read every modelled key, then the cross-key checks; None when any failed."""
    clauses = r.get("clauses", r.mapping(r.clause))
    values: dict[str, Any] = {
        "default_region": r.get("default_region", r.country),
        "outbound_directions": r.get("outbound_directions", r.texts),
        "answered_status": r.get("answered_status", r.text),
        "treat_unclassified_as_telemarketing": r.get("treat_unclassified_as_telemarketing", r.flag),
        "clauses": clauses,
        "consent_channels": r.get("consent_channels", r.texts),
        "consent_accepted_types_default": r.get("consent_accepted_types_default", r.texts),
        "consent_accepted_types_by_country": r.get(
            "consent_accepted_types_by_country", r.mapping(r.texts, keys=r.country)
        ),
        "disclosure_max_offset_s": r.get("disclosure_max_offset_s", r.count),
        "optout_honor_window_default": r.get("optout_honor_window_default", r.honor_window),
        "optout_honor_window_by_country": r.get(
            "optout_honor_window_by_country", r.mapping(r.honor_window, keys=r.country)
        ),
        "dnc_registries_by_country": r.get(
            "dnc_registries_by_country", r.mapping(r.texts, keys=r.country)
        ),
        "dnc_registry_max_age_days": r.get("dnc_registry_max_age_days", r.mapping(r.count)),
        "dnc_exemption_consent_types": r.get("dnc_exemption_consent_types", r.texts),
        "dnc_ebr_purchase_days": r.get("dnc_ebr_purchase_days", r.count),
        "dnc_ebr_inquiry_days": r.get("dnc_ebr_inquiry_days", r.count),
        "callerid_inventory_kinds": r.get("callerid_inventory_kinds", r.texts),
        "complaints_min_count": r.get("complaints_min_count", r.count),
        "complaints_max_per_1000": r.get("complaints_max_per_1000", r.number),
        "unanswered_min_attempts": r.get("unanswered_min_attempts", r.count),
        "unanswered_max_ratio": r.get("unanswered_max_ratio", r.ratio),
        "unanswered_max_count": r.get("unanswered_max_count", r.count),
        "acd_min_answered": r.get("acd_min_answered", r.count),
        "acd_min_seconds": r.get("acd_min_seconds", r.number),
        "short_call_max_seconds": r.get("short_call_max_seconds", r.count),
        "calling_hours_default": r.get("calling_hours_default", r.weekly_hours),
        "calling_hours_by_country": r.get(
            "calling_hours_by_country", r.mapping(r.weekly_hours, keys=r.country)
        ),
        "calling_hours_by_us_state": r.get(
            "calling_hours_by_us_state", r.mapping(r.weekly_hours, keys=r.state)
        ),
        "calling_hours_holidays": r.get(
            "calling_hours_holidays", r.mapping(r.holidays, keys=r.country)
        ),
        "cps_bucket_seconds": r.get("cps_bucket_seconds", r.positive),
        "cps_hot_share_of_allotted": r.get("cps_hot_share_of_allotted", r.number),
        "cps_min_hot_regions": r.get("cps_min_hot_regions", r.positive),
        "cps_window_hours": r.get("cps_window_hours", r.positive),
        "cps_max_concurrent_hot_hours": r.get("cps_max_concurrent_hot_hours", r.count),
        "data_quality": r.get("data_quality", r.data_quality),
        # Optional: without it every owner's alerts go to the default destinations.
        "routing": r.routing("routing", r.document.get("routing")),
    }
    _check_relations(r, values)
    if r.problems:
        return None
    extra = {k: v for k, v in r.document.items() if k not in _MODELLED_KEYS}
    return Policy(**values, source=source, extra=extra, _vars=r.document)


def _check_relations(r: _Reader, v: Mapping[str, Any]) -> None:
    """Checks across keys: every clause configured, every registry with a max age."""
    clauses = v["clauses"]
    if isinstance(clauses, dict):
        missing = [c for c in CLAUSE_IDS if c not in clauses]
        unknown = sorted(set(clauses) - set(CLAUSE_IDS))
        if missing:
            r.problems.append(f"clauses: missing clause(s) {', '.join(missing)}")
        if unknown:
            r.problems.append(f"clauses: unknown clause(s) {', '.join(unknown)}")
    registries = v["dnc_registries_by_country"]
    max_age = v["dnc_registry_max_age_days"]
    if isinstance(registries, dict) and isinstance(max_age, dict):
        listed = {name for names in registries.values() if names for name in names}
        for name in sorted(listed - set(max_age)):
            r.problems.append(f"dnc_registry_max_age_days: no entry for registry {name!r}")
    routing, data_quality = v["routing"], v["data_quality"]
    if isinstance(routing, Routing) and isinstance(clauses, dict):
        # A routed owner that no clause names is a typo: its alerts would
        # silently go to the default destination.
        owners = {c.owner for c in clauses.values() if isinstance(c, ClausePolicy)}
        if isinstance(data_quality, DataQualityPolicy):
            owners.add(data_quality.owner)
        for name in sorted(set(routing.owners) - owners):
            r.problems.append(
                f"routing.owners.{name}: no clause or data_quality has this owner"
                f" (owners: {', '.join(sorted(owners))})"
            )
    window, concurrent = v["cps_window_hours"], v["cps_max_concurrent_hot_hours"]
    if isinstance(window, int) and isinstance(concurrent, int) and concurrent > window:
        r.problems.append(
            f"cps_max_concurrent_hot_hours: {concurrent} exceeds cps_window_hours {window}"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
