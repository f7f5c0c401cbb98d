"""Typed runtime configuration, read from environment variables.

Every setting has a default that makes the embedded demo work with no setup:
a local landing folder and a DuckDB file under the repository's ``data/``
folder. Secrets (S3 credentials, Slack webhooks) are never settings here:
they come from the environment or from Airflow connections.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

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
DEFAULT_LOAD_BATCH_BYTES = 128 * 1024 * 1024
"""Decompressed bytes of landing files loaded per DuckDB batch (bounds memory)."""
DEFAULT_LOAD_BATCH_FILES = 500
"""Landing files per batch; 1 loads every file on its own."""
DEFAULT_RUN_LOCK_TIMEOUT = 600.0
"""Seconds a ``run`` waits for another run on the same warehouse to finish
(a full run at 1 M calls takes about 9 minutes) before giving up."""
DEFAULT_STOP_GRACE = 10.0
"""Seconds the CLI gives its child processes to exit after SIGTERM before SIGKILL."""
DEFAULT_WAREHOUSE_OPEN_TIMEOUT = 5.0
"""Seconds ``open_warehouse`` retries while another process holds DuckDB's file lock."""


def _env(name: str, *fallbacks: str) -> str | None:
    for key in (name, *fallbacks):
        value = os.environ.get(key)
        if value:
            return value
    return None


@dataclass(frozen=True)
class Settings:
    """Where the pipeline reads from and writes to.

    ``landing`` is a local folder or an ``s3://bucket/prefix`` URI with the
    layout of ``contract.md``. ``warehouse`` is the DuckDB file every job
    writes to.
    """

    landing: str
    warehouse: Path
    data_dir: Path
    airflow_home: Path
    default_region: str = "US"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    aws_conn_id: str | None = None
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    duckdb_threads: int = DEFAULT_DUCKDB_THREADS
    duckdb_temp_directory: Path | None = None
    load_batch_bytes: int = DEFAULT_LOAD_BATCH_BYTES
    load_batch_files: int = DEFAULT_LOAD_BATCH_FILES
    run_lock_timeout: float = DEFAULT_RUN_LOCK_TIMEOUT
    stop_grace: float = DEFAULT_STOP_GRACE
    warehouse_open_timeout: float = DEFAULT_WAREHOUSE_OPEN_TIMEOUT

    @property
    def duckdb_temp_dir(self) -> Path:
        """Where DuckDB spills when a query outgrows ``duckdb_memory_limit``."""
        return self.duckdb_temp_directory or self.data_dir / "duckdb_tmp"

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
            # Insertion order is not needed by any of our queries; dropping it
            # lets DuckDB stream large inserts instead of buffering them.
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

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from ``VC_*`` environment variables, then overrides.

        Overrides whose value is ``None`` are ignored, so optional command
        line flags can be passed straight through.
        """
        data_dir = Path(_env("VC_DATA_DIR") or REPO_ROOT / "data").resolve()
        settings = cls(
            landing=_env("VC_LANDING") or str(data_dir / "landing"),
            warehouse=Path(_env("VC_WAREHOUSE") or data_dir / "warehouse.duckdb"),
            data_dir=data_dir,
            airflow_home=Path(_env("VC_AIRFLOW_HOME", "AIRFLOW_HOME") or REPO_ROOT / ".airflow"),
            default_region=(_env("VC_DEFAULT_REGION") or "US").upper(),
            s3_endpoint_url=_env("VC_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
            s3_region=_env("VC_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
            aws_conn_id=_env("VC_AWS_CONN_ID"),
            duckdb_memory_limit=_env("VC_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT,
            duckdb_threads=_int("VC_DUCKDB_THREADS", DEFAULT_DUCKDB_THREADS),
            duckdb_temp_directory=_path_or_none(_env("VC_DUCKDB_TEMP_DIRECTORY")),
            load_batch_bytes=_int("VC_LOAD_BATCH_BYTES", DEFAULT_LOAD_BATCH_BYTES),
            load_batch_files=_int("VC_LOAD_BATCH_FILES", DEFAULT_LOAD_BATCH_FILES),
            run_lock_timeout=_seconds("VC_RUN_LOCK_TIMEOUT", DEFAULT_RUN_LOCK_TIMEOUT),
            stop_grace=_seconds("VC_STOP_GRACE", DEFAULT_STOP_GRACE),
            warehouse_open_timeout=_seconds(
                "VC_WAREHOUSE_OPEN_TIMEOUT", DEFAULT_WAREHOUSE_OPEN_TIMEOUT
            ),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        for key in ("warehouse", "data_dir", "airflow_home", "duckdb_temp_directory"):
            if key in clean:
                # Absolute: dbt and Airflow children run in other folders.
                clean[key] = Path(str(clean[key])).expanduser().absolute()
        if "landing" in clean:
            clean["landing"] = _normalize_landing(str(clean["landing"]))
        return replace(settings, **clean)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child
        process (an Airflow task runner, for instance)."""
        env = {
            "VC_LANDING": self.landing,
            "VC_WAREHOUSE": str(self.warehouse),
            "VC_DATA_DIR": str(self.data_dir),
            "VC_AIRFLOW_HOME": str(self.airflow_home),
            "VC_DEFAULT_REGION": self.default_region,
            "VC_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "VC_DUCKDB_THREADS": str(self.duckdb_threads),
            "VC_DUCKDB_TEMP_DIRECTORY": str(self.duckdb_temp_dir),
            "VC_LOAD_BATCH_BYTES": str(self.load_batch_bytes),
            "VC_LOAD_BATCH_FILES": str(self.load_batch_files),
            "VC_RUN_LOCK_TIMEOUT": str(self.run_lock_timeout),
            "VC_STOP_GRACE": str(self.stop_grace),
            "VC_WAREHOUSE_OPEN_TIMEOUT": str(self.warehouse_open_timeout),
        }
        if self.s3_endpoint_url:
            env["VC_S3_ENDPOINT_URL"] = self.s3_endpoint_url
        if self.s3_region:
            env["VC_S3_REGION"] = self.s3_region
        if self.aws_conn_id:
            env["VC_AWS_CONN_ID"] = self.aws_conn_id
        return env


def _seconds(name: str, default: float) -> float:
    """A non-negative number of seconds from ``name`` (``default`` when unset)."""
    value = _env(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None
    if seconds < 0:
        raise ValueError(f"{name} must be zero or more seconds, not {value!r}")
    return seconds


def _int(name: str, default: int) -> int:
    """A whole number > 0 from ``name`` (``default`` when unset)."""
    value = _env(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be 1 or more, not {value!r}")
    return number


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


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
