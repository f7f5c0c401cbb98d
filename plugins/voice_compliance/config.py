"""Typed runtime configuration: every setting, read from the environment in one place.

``Settings`` is a pydantic-settings model with one section per concern:

=============  ==============================================================
``paths``      ``VC_DATA_DIR``, ``VC_LANDING``, ``VC_WAREHOUSE``,
               ``VC_AIRFLOW_HOME`` (else ``AIRFLOW_HOME``), ``VC_POLICY_FILE``,
               ``VC_DBT_PROJECT_DIR``, ``VC_EXPECTATIONS_DIR``, ``VC_CACHE_DIR``
``s3``         ``VC_S3_ENDPOINT_URL`` (else ``AWS_ENDPOINT_URL_S3``,
               ``AWS_ENDPOINT_URL``), ``VC_S3_REGION`` (else ``AWS_REGION``,
               ``AWS_DEFAULT_REGION``), ``VC_AWS_CONN_ID``
``duckdb``     ``VC_DUCKDB_MEMORY_LIMIT``, ``VC_DUCKDB_THREADS``,
               ``VC_DUCKDB_TEMP_DIRECTORY``, ``VC_WAREHOUSE_OPEN_TIMEOUT``,
               ``VC_DBT_THREADS``
``load``       ``VC_DEFAULT_REGION``, ``VC_LOAD_BATCH_BYTES``, ``VC_LOAD_BATCH_FILES``
``run``        ``VC_RUN_LOCK_TIMEOUT``, ``VC_STOP_GRACE``
``slack``      ``VC_SLACK_CONN_ID``, ``VC_SLACK_OUTBOX``, ``VC_SLACK_SENT_LOG``,
               ``VC_SLACK_RETRIES``, ``VC_SLACK_BACKOFF_S``, ``VC_SLACK_TIMEOUT_S``
``tickets``    ``VC_TICKET_SINK``, ``VC_TICKET_CONN_ID``, ``VC_TICKET_TIMEOUT_S``,
               ``VC_TICKET_RETRIES``, ``VC_TICKET_BACKOFF_S``
``docs``       ``VC_DBT_DOCS_URL``, ``VC_DATA_DOCS_URL``, ``VC_REPORT_URL``
``twilio``     ``VC_TWILIO_CONN_ID``
``history``    ``VC_HISTORY_DAYS``
=============  ==============================================================

Each field names its variables (``Env``); ``_Variables`` is the only code of
the package that reads them, when a ``Settings`` is built (never at import).
An empty variable counts as unset. A bad value is one line naming the
variable (``VC_DUCKDB_THREADS must be a whole number, not 'abc'``), every
problem at once (``SettingsError``).

Every setting has a default that makes the embedded demo work with no setup:
a local landing folder and a DuckDB file under the repository's ``data/``
folder. Secrets (S3 credentials, Slack webhooks) are never settings here:
they come from the environment or from Airflow connections.

The flat names of the first version (``settings.landing``,
``settings.duckdb_memory_limit``...) stay as read-only properties and as
constructor keywords, so ``Settings(landing=..., warehouse=...)`` still works.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from platformdirs import user_cache_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository root (``plugins/voice_compliance`` lives two levels below).

Resolved from this file, not from the working directory, so the package finds
``dags/``, ``dbt_project/``, ``expectations/`` and the default ``data/`` from
any folder. ``make setup`` installs the package *editable* (a ``.pth`` file
pointing at ``plugins/``), so ``__file__`` stays inside the repository.
"""

DEFAULT_DUCKDB_MEMORY_LIMIT = "4GB"
"""Fits the 8 GB budget of a whole run with Airflow, dbt and GX beside DuckDB;
DuckDB spills to ``temp_directory`` beyond it."""
DEFAULT_DUCKDB_THREADS = max(1, min(os.cpu_count() or 1, 8))
DEFAULT_DBT_THREADS = 4
"""dbt nodes built or tested at once: their queries share the one DuckDB
database (its memory limit bounds them all) while dbt's own per-node work
overlaps them (decision 0022)."""
DEFAULT_LOAD_BATCH_BYTES = 128 * 1024 * 1024
"""Decompressed bytes of landing files loaded per DuckDB batch (bounds memory)."""
DEFAULT_LOAD_BATCH_FILES = 500
"""Landing files per batch; 1 loads every file on its own."""
DEFAULT_RUN_LOCK_TIMEOUT = 600.0
"""Seconds a ``run`` waits for another run on the same warehouse to finish
(a full run at 1 M calls takes about 9 minutes) before giving up."""
DEFAULT_STOP_GRACE = 10.0
"""Seconds the CLI gives its child processes to exit after SIGTERM before SIGKILL."""
DEFAULT_HISTORY_DAYS = 400
"""Days of run history kept on disk: a year of daily runs, and a month to spare."""
DEFAULT_WAREHOUSE_OPEN_TIMEOUT = 5.0
"""Seconds ``open_warehouse`` retries while another process holds DuckDB's file lock."""
DEFAULT_SLACK_CONN_ID = "vc_slack"
DEFAULT_TICKET_CONN_ID = "vc_tickets"


@dataclass(frozen=True)
class Env:
    """Field metadata: the environment variables of a setting, the first set one wins.

    ``unit`` words the error of a bad value (``seconds``).
    """

    names: tuple[str, ...]
    unit: str = ""

    def __init__(self, *names: str, unit: str = "") -> None:
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "unit", unit)


class SettingsError(ValueError):
    """Settings that cannot be used; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_Seconds = Annotated[float, Field(ge=0)]


def _absolute_path(value: Path | None) -> Path | None:
    """A path setting made absolute from the current folder, once, where it is
    read (from a variable or a keyword): dbt and Airflow children run in other
    folders."""
    return None if value is None else value.expanduser().absolute()


class PathSettings(_Section):
    """Where the pipeline reads and writes. ``landing`` is a local folder or an
    ``s3://bucket/prefix`` URI with the layout of ``contract.md``; ``warehouse``
    is the DuckDB file every job writes to. ``policy_file`` ``None`` means
    ``dbt_project/policy.yml``. ``cache_dir`` holds what any warehouse of the
    machine can reuse (the phone metadata tables), by default the user's
    cache folder as ``platformdirs`` gives it (``$XDG_CACHE_HOME`` or
    ``~/.cache`` on Linux, then ``voice-compliance``)."""

    data_dir: Annotated[Path, Env("VC_DATA_DIR")]
    landing: Annotated[str, Env("VC_LANDING")]
    warehouse: Annotated[Path, Env("VC_WAREHOUSE")]
    airflow_home: Annotated[Path, Env("VC_AIRFLOW_HOME", "AIRFLOW_HOME")] = REPO_ROOT / ".airflow"
    policy_file: Annotated[Path | None, Env("VC_POLICY_FILE")] = None
    dbt_project_dir: Annotated[Path, Env("VC_DBT_PROJECT_DIR")] = REPO_ROOT / "dbt_project"
    expectations_dir: Annotated[Path, Env("VC_EXPECTATIONS_DIR")] = REPO_ROOT / "expectations"
    cache_dir: Annotated[Path, Env("VC_CACHE_DIR")] = Field(
        default_factory=lambda: Path(user_cache_dir("voice-compliance"))
    )

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_data_dir(cls, values: Any) -> Any:
        """The landing folder and the warehouse default to ``data_dir``'s."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        data_dir = Path(values.get("data_dir") or (REPO_ROOT / "data").resolve())
        values["data_dir"] = data_dir
        values.setdefault("landing", str(data_dir / "landing"))
        values.setdefault("warehouse", data_dir / "warehouse.duckdb")
        return values

    @field_validator("dbt_project_dir", "cache_dir")
    @classmethod
    def _resolved(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    _absolute = field_validator(
        "data_dir", "warehouse", "airflow_home", "policy_file", "expectations_dir"
    )(_absolute_path)

    @field_validator("landing", mode="before")
    @classmethod
    def _landing(cls, value: Any) -> Any:
        """A local folder made absolute (a ``Path`` accepted), an S3 URI trimmed."""
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        return _normalize_landing(value) if isinstance(value, str) else value


class S3Settings(_Section):
    """An S3 landing zone: endpoint and region (``None``: boto's defaults), and
    the Airflow connection holding its credentials (``None``: the environment)."""

    endpoint_url: Annotated[
        str | None, Env("VC_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    ] = None
    region: Annotated[str | None, Env("VC_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")] = None
    aws_conn_id: Annotated[str | None, Env("VC_AWS_CONN_ID")] = None


class DuckDBSettings(_Section):
    """DuckDB's resource bounds, the same in every process that opens the warehouse."""

    memory_limit: Annotated[str, Env("VC_DUCKDB_MEMORY_LIMIT")] = DEFAULT_DUCKDB_MEMORY_LIMIT
    threads: Annotated[int, Env("VC_DUCKDB_THREADS"), Field(ge=1)] = DEFAULT_DUCKDB_THREADS
    temp_directory: Annotated[Path | None, Env("VC_DUCKDB_TEMP_DIRECTORY")] = None
    open_timeout: Annotated[_Seconds, Env("VC_WAREHOUSE_OPEN_TIMEOUT", unit="seconds")] = (
        DEFAULT_WAREHOUSE_OPEN_TIMEOUT
    )
    dbt_threads: Annotated[int, Env("VC_DBT_THREADS"), Field(ge=1)] = DEFAULT_DBT_THREADS

    _absolute = field_validator("temp_directory")(_absolute_path)


class LoadSettings(_Section):
    """Loading landing files: the region of national numbers, and the batch bounds."""

    default_region: Annotated[str, Env("VC_DEFAULT_REGION")] = "US"
    batch_bytes: Annotated[int, Env("VC_LOAD_BATCH_BYTES"), Field(ge=1)] = DEFAULT_LOAD_BATCH_BYTES
    batch_files: Annotated[int, Env("VC_LOAD_BATCH_FILES"), Field(ge=1)] = DEFAULT_LOAD_BATCH_FILES

    @field_validator("default_region")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class RunSettings(_Section):
    """The command line's patience: the run lock and the stop grace period."""

    lock_timeout: Annotated[_Seconds, Env("VC_RUN_LOCK_TIMEOUT", unit="seconds")] = (
        DEFAULT_RUN_LOCK_TIMEOUT
    )
    stop_grace: Annotated[_Seconds, Env("VC_STOP_GRACE", unit="seconds")] = DEFAULT_STOP_GRACE


class SlackSettings(_Section):
    """Slack delivery (``notify.slack``). ``conn_id`` ``None``: not named, so the
    default connection ``vc_slack`` is used when defined and never required;
    ``outbox`` and ``sent_log`` ``None``: under ``<data_dir>/notifications``."""

    conn_id: Annotated[str | None, Env("VC_SLACK_CONN_ID")] = None
    outbox: Annotated[Path | None, Env("VC_SLACK_OUTBOX")] = None
    sent_log: Annotated[Path | None, Env("VC_SLACK_SENT_LOG")] = None
    retries: Annotated[int, Env("VC_SLACK_RETRIES"), Field(ge=0)] = 3
    backoff_s: Annotated[_Seconds, Env("VC_SLACK_BACKOFF_S", unit="seconds")] = 1.0
    timeout_s: Annotated[_Seconds, Env("VC_SLACK_TIMEOUT_S", unit="seconds")] = 10.0


class TicketSettings(_Section):
    """The ticket sink (``tickets.settings``). ``sink`` is checked there, where
    the sinks are known (``table``, ``webhook``, ``jira``)."""

    sink: Annotated[str, Env("VC_TICKET_SINK")] = "table"
    conn_id: Annotated[str, Env("VC_TICKET_CONN_ID")] = DEFAULT_TICKET_CONN_ID
    timeout_s: Annotated[float, Env("VC_TICKET_TIMEOUT_S", unit="seconds"), Field(gt=0)] = 10.0
    retries: Annotated[int, Env("VC_TICKET_RETRIES"), Field(ge=0)] = 2
    backoff_s: Annotated[_Seconds, Env("VC_TICKET_BACKOFF_S", unit="seconds")] = 0.5

    @field_validator("sink")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class DocsSettings(_Section):
    """Where the dbt docs, the Data Docs and the monthly reports are published
    (``None``: links point at the local files)."""

    dbt_docs_url: Annotated[str | None, Env("VC_DBT_DOCS_URL")] = None
    data_docs_url: Annotated[str | None, Env("VC_DATA_DOCS_URL")] = None
    report_url: Annotated[str | None, Env("VC_REPORT_URL")] = None


class TwilioSettings(_Section):
    """The Twilio pull: ``conn_id`` ``None`` means not configured (``vc_twilio``
    when a job pulls anyway)."""

    conn_id: Annotated[str | None, Env("VC_TWILIO_CONN_ID")] = None


class HistorySettings(_Section):
    """How long the files of past runs stay on disk: GX validation results with
    their Data Docs pages, and the command line's run logs. ``keep_days`` 0
    keeps them all. The warehouse keeps every finding whatever this says."""

    keep_days: Annotated[int, Env("VC_HISTORY_DAYS"), Field(ge=0)] = DEFAULT_HISTORY_DAYS


SECTIONS: dict[str, type[_Section]] = {
    "paths": PathSettings,
    "s3": S3Settings,
    "duckdb": DuckDBSettings,
    "load": LoadSettings,
    "run": RunSettings,
    "slack": SlackSettings,
    "tickets": TicketSettings,
    "docs": DocsSettings,
    "twilio": TwilioSettings,
    "history": HistorySettings,
}


class _Flat(property):
    """A flat name of the first version (``settings.landing``): ``section.name``."""

    def __init__(self, section: str, name: str) -> None:
        super().__init__(lambda settings: getattr(getattr(settings, section), name))
        self.section, self.name = section, name
        self.__doc__ = f"``{section}.{name}``."


def _env_of(field: FieldInfo) -> Env | None:
    return next((m for m in field.metadata if isinstance(m, Env)), None)


def _read(names: tuple[str, ...]) -> tuple[str, str] | None:
    """``(variable, value)`` of the first of ``names`` set to a non-blank value."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None


def section_environment(section: type[_Section]) -> dict[str, str]:
    """The values of ``section``'s variables that are set, by field name.

    With ``_Variables``, the only place the package reads ``VC_*`` settings.
    """
    values: dict[str, str] = {}
    for name, field in section.model_fields.items():
        env = _env_of(field)
        found = _read(env.names) if env else None
        if found:
            values[name] = found[1]
    return values


def section_to_env(values: BaseModel, always: frozenset[str] = frozenset()) -> dict[str, str]:
    """The variables that reproduce a section in a child process, under their
    first names: the fields set (from a variable or a keyword) and those named in
    ``always``. A field left at its default is not passed, so the child's own
    environment still decides it."""
    env: dict[str, str] = {}
    for name, field in type(values).model_fields.items():
        value, names = getattr(values, name), _env_of(field)
        if value is not None and names and (name in values.model_fields_set or name in always):
            env[names.names[0]] = str(value)
    return env


class _Variables(PydanticBaseSettingsSource):
    """The pydantic-settings source of ``Settings``: each field's ``Env`` variables."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads whole sections

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, section in SECTIONS.items():
            found = section_environment(section)
            if found:
                values[key] = found
        paths = values.get("paths", {})
        if "data_dir" in paths:
            # Resolved: dbt and Airflow children run in other folders.
            paths["data_dir"] = str(Path(paths["data_dir"]).expanduser().resolve())
        return values


class Settings(BaseSettings):
    """Every setting of the pipeline, in sections (see the module docstring).

    Built from the environment (``from_env``, or the constructor: keywords win
    over variables), immutable, picklable. ``replace`` makes a changed copy.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    paths: PathSettings = Field(default_factory=lambda: PathSettings.model_validate({}))
    s3: S3Settings = Field(default_factory=S3Settings)
    duckdb: DuckDBSettings = Field(default_factory=DuckDBSettings)
    load: LoadSettings = Field(default_factory=LoadSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    docs: DocsSettings = Field(default_factory=DocsSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords, then our variables (their names are not pydantic-settings' defaults)."""
        return init_settings, _Variables(settings_cls)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_problems(exc)) from None

    @model_validator(mode="before")
    @classmethod
    def _flat_names(cls, values: Any) -> Any:
        """Accept the flat keywords (``landing=...``) into their sections."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        for flat, (section, name) in FLAT_NAMES.items():
            if flat in values:
                current = values.get(section) or {}
                if isinstance(current, BaseModel):
                    current = current.model_dump(exclude_unset=True)
                values[section] = {**current, name: values.pop(flat)}
        return values

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment, then ``overrides`` (flat names).

        Overrides whose value is ``None`` are ignored, so optional command
        line flags can be passed straight through. Relative paths, here as
        in the variables, are made absolute (``PathSettings``).
        """
        clean = {k: v for k, v in overrides.items() if v is not None}
        return cls(**clean)

    @classmethod
    def section_from_env(cls, key: str) -> Any:
        """One section (``"tickets"``, ``"slack"``...) from the environment alone,
        so a bad variable of another section does not stop it."""
        section = SECTIONS[key]
        try:
            return section.model_validate(section_environment(section))
        except ValidationError as exc:
            raise SettingsError(_problems(exc, prefix=(key,))) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated again: flat names (``data_dir=...``)
        or sections, whole or in part (``docs={"report_url": ...}``). The
        environment is not read again."""
        values: dict[str, Any] = {key: getattr(self, key) for key in SECTIONS}
        for key, change in changes.items():
            if key in SECTIONS:
                section = values[key]
                part = (
                    change.model_dump(exclude_unset=True)
                    if isinstance(change, BaseModel)
                    else change
                )
                values[key] = type(section).model_validate(
                    {**section.model_dump(exclude_unset=True), **part}
                )
            else:
                values[key] = change
        # Whole sections, not dicts: the environment cannot fill them in again.
        return type(self)(**values)

    # --- the first version's flat names: read-only, and constructor keywords ---------

    landing = _Flat("paths", "landing")
    warehouse = _Flat("paths", "warehouse")
    data_dir = _Flat("paths", "data_dir")
    airflow_home = _Flat("paths", "airflow_home")
    policy_file = _Flat("paths", "policy_file")
    dbt_project_dir = _Flat("paths", "dbt_project_dir")
    expectations_dir = _Flat("paths", "expectations_dir")
    default_region = _Flat("load", "default_region")
    s3_endpoint_url = _Flat("s3", "endpoint_url")
    s3_region = _Flat("s3", "region")
    aws_conn_id = _Flat("s3", "aws_conn_id")
    duckdb_memory_limit = _Flat("duckdb", "memory_limit")
    duckdb_threads = _Flat("duckdb", "threads")
    duckdb_temp_directory = _Flat("duckdb", "temp_directory")
    load_batch_bytes = _Flat("load", "batch_bytes")
    load_batch_files = _Flat("load", "batch_files")
    run_lock_timeout = _Flat("run", "lock_timeout")
    stop_grace = _Flat("run", "stop_grace")
    warehouse_open_timeout = _Flat("duckdb", "open_timeout")
    dbt_threads = _Flat("duckdb", "dbt_threads")

    # --- derived ----------------------------------------------------------------

    @property
    def duckdb_temp_dir(self) -> Path:
        """Where DuckDB spills when a query outgrows ``duckdb_memory_limit``."""
        return self.duckdb.temp_directory or self.data_dir / "duckdb_tmp"

    def duckdb_config(self) -> dict[str, str]:
        """DuckDB's resource settings, for ``duckdb.connect(config=...)``.

        Every process that opens the warehouse (loaders, dbt, validation)
        uses the same bounds, so a run's memory is set here, not left to
        DuckDB's default of 80 % of the machine.
        """
        return {
            "memory_limit": self.duckdb_memory_limit,
            "threads": str(self.duckdb_threads),
            "temp_directory": str(self.duckdb_temp_dir),
            # Dropping insertion order lets DuckDB stream large inserts. The
            # one place that needs it, reading landing lines (line numbers
            # come from rowid order), turns it on (staging.file_order).
            "preserve_insertion_order": "false",
        }

    @property
    def work_dir(self) -> Path:
        """Scratch space for downloaded and decompressed landing files."""
        return self.data_dir / "work"

    @property
    def is_s3(self) -> bool:
        """True when the landing zone is an S3 bucket."""
        return self.landing.startswith("s3://")

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child
        process (an Airflow task runner, dbt): each set field under its first name."""
        env: dict[str, str] = {}
        for key in SECTIONS:
            always = frozenset(name for section, name in _ALWAYS_PASSED if section == key)
            env.update(section_to_env(getattr(self, key), always))
        env["VC_DUCKDB_TEMP_DIRECTORY"] = str(self.duckdb_temp_dir)
        return env


FLAT_NAMES: dict[str, tuple[str, str]] = {
    name: (flat.section, flat.name)
    for name, flat in vars(Settings).items()
    if isinstance(flat, _Flat)
}
"""The first version's flat names (constructor keywords, properties) -> (section, field)."""
_ALWAYS_PASSED = frozenset(
    FLAT_NAMES[name]
    for name in FLAT_NAMES
    if name not in {"policy_file", "dbt_project_dir", "expectations_dir"}
)
"""What ``to_env`` passes even at its default: what a task needs to see the same
landing zone, warehouse and resources as the process that started it."""


# --- errors -----------------------------------------------------------------------


def _variable(loc: tuple[Any, ...]) -> tuple[str, str]:
    """``(variable name, unit)`` of the field at ``loc`` (section, field), else its path."""
    if len(loc) >= 2 and loc[0] in SECTIONS:
        field = SECTIONS[loc[0]].model_fields.get(str(loc[1]))
        env = _env_of(field) if field else None
        if env:
            found = _read(env.names)
            return (found[0] if found else env.names[0]), env.unit
    return ".".join(map(str, loc)), ""


def _problems(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[str]:
    """One line per error: the variable, what it must be, and the value."""
    lines = []
    for error in exc.errors(include_url=False):
        name, unit = _variable((*prefix, *error["loc"]))
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind in {"int_parsing", "int_type", "int_from_float"}:
            what = "must be a whole number"
        elif kind in {"float_parsing", "float_type"}:
            what = f"must be a number of {unit}" if unit else "must be a number"
        elif kind == "greater_than_equal" and ctx.get("ge") == 0:
            what = f"must be zero or more {unit}".rstrip()
        elif kind == "greater_than_equal":
            what = f"must be {ctx['ge']:g} or more"
        elif kind == "greater_than":
            what = f"must be more than {ctx['gt']:g} {unit}".rstrip()
        elif kind == "extra_forbidden":
            lines.append(f"{name}: unknown setting")
            continue
        else:
            lines.append(f"{name}: {error['msg']}")
            continue
        lines.append(f"{name} {what}, not {error['input']!r}")
    return lines


# --- landing addresses --------------------------------------------------------------

# A URL scheme of two characters or more (one letter is a Windows drive, C:\...).
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _normalize_landing(landing: str) -> str:
    if landing.startswith("s3://"):
        return landing.rstrip("/") if len(landing.rstrip("/")) > len("s3://") else landing
    if _URL_SCHEME.match(landing):
        # Kept as typed (``s3:/bucket``, ``S3://...``): ``landing_url_problem``
        # names it, instead of it silently becoming a local folder.
        return landing
    return str(Path(landing).expanduser().resolve())


# --- validation helpers (used by ``voice_compliance.checks``) -------------------


def landing_url_problem(landing: str) -> str | None:
    """Why ``landing`` is not a usable landing-zone address, or None.

    A local path is fine here (whether the folder exists is the checks'
    business); a URL must be ``s3://bucket[/prefix]`` with a valid bucket name.
    """
    expected = "expected s3://bucket/prefix"
    if landing.startswith("s3://"):
        bucket = landing[len("s3://") :].partition("/")[0]
        if not bucket:
            return f"malformed S3 URL: no bucket name ({expected})"
        return s3_bucket_problem(bucket)
    match = _URL_SCHEME.match(landing)
    if match is None:
        return None
    if match.group(1).lower() == "s3":
        return f"malformed S3 URL ({expected}, lower-case s3 and two slashes)"
    return f"unsupported landing URL scheme {match.group(1)!r} ({expected} or a local folder)"


def s3_bucket_problem(bucket: str) -> str | None:
    """Why ``bucket`` is not a valid S3 bucket name (AWS naming rules), or None."""
    if (
        _S3_BUCKET.match(bucket)
        and ".." not in bucket
        and ".-" not in bucket
        and "-." not in bucket
        and not _IPV4.match(bucket)
    ):
        return None
    return (
        f"invalid S3 bucket name {bucket!r}: 3-63 lower-case letters, digits, dots and "
        "hyphens, starting and ending with a letter or digit, not an IP address"
    )


def region_problem(region: str) -> str | None:
    """Why ``region`` is not a region phonenumbers can parse national numbers for, or None."""
    import phonenumbers  # light, but only the checks need it

    if region in phonenumbers.SUPPORTED_REGIONS:
        return None
    return (
        f"unknown region {region!r}: expected an ISO 3166 alpha-2 code that phonenumbers "
        "knows (US, GB, CA, FR, AU...); with an unknown region every national number "
        "would be invalid"
    )
