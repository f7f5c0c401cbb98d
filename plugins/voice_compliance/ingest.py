"""Entry points the ingestion DAGs call: load one landing source, summarize
what landed. (The registry state is derived by dbt from the raw rows.)

Each function opens the warehouse for writing, does its work and closes it,
so Airflow tasks (serialized by the ``duckdb_writer`` pool) never hold the
DuckDB file longer than they need to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from voice_compliance import warehouse
from voice_compliance.config import Settings
from voice_compliance.loading import sources

CALL_SOURCES: tuple[str, ...] = (sources.CALLS.name,)
EXPORT_SOURCES: tuple[str, ...] = tuple(s.name for s in sources.EXPORTS)
REGISTRIES: tuple[str, ...] = sources.REGISTRY_NAMES
REGISTRY_SOURCES: tuple[str, ...] = tuple(s.name for s in sources.REGISTRIES)
ALL_SOURCES: tuple[str, ...] = CALL_SOURCES + EXPORT_SOURCES + REGISTRY_SOURCES


@dataclass(frozen=True)
class SourceLoadSummary:
    """What one ``ingest_source`` call did."""

    source: str
    files_seen: int
    files_loaded: int
    files_unchanged: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int

    def as_dict(self) -> dict[str, int | str]:
        """A plain dict, for XCom and logs."""
        return asdict(self)


def ingest_source(settings: Settings, source: str) -> SourceLoadSummary:
    """Load every new or changed landing file of ``source`` into its raw table."""
    # Imported here: the DAG files import this module at parse time.
    from voice_compliance.landing import open_landing, sweep_work_dir
    from voice_compliance.loading import loader, phone_dimension

    if source not in sources.SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(ALL_SOURCES)}")
    spec = sources.SOURCES[source]
    zone = open_landing(settings)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    sweep_work_dir(settings.work_dir)  # what a killed earlier run left behind
    with warehouse.open_warehouse(settings) as con:
        results = loader.load_source(
            con,
            zone,
            spec,
            settings.work_dir,
            batch_bytes=settings.load_batch_bytes,
            batch_files=settings.load_batch_files,
        )
        phone_dimension.update(con, spec, settings.default_region, settings.paths.cache_dir)
    loaded = [r for r in results if not r.skipped]
    return SourceLoadSummary(
        source=source,
        files_seen=len(results),
        files_loaded=len(loaded),
        files_unchanged=len(results) - len(loaded),
        rows_read=sum(r.rows_read for r in loaded),
        rows_loaded=sum(r.rows_loaded for r in loaded),
        rows_quarantined=sum(r.rows_quarantined for r in loaded),
    )


def record_unassigned_files(settings: Settings) -> SourceLoadSummary:
    """Give every file outside the layout's folders a manifest row (``unrecognized``)."""
    from voice_compliance.landing import open_landing
    from voice_compliance.loading.inventory import UNASSIGNED, record_unassigned

    zone = open_landing(settings)
    with warehouse.open_warehouse(settings) as con:
        results = record_unassigned(con, zone)
    recorded = [r for r in results if not r.skipped]
    return SourceLoadSummary(
        source=UNASSIGNED,
        files_seen=len(results),
        files_loaded=len(recorded),
        files_unchanged=len(results) - len(recorded),
        rows_read=sum(r.rows_read for r in recorded),
        rows_loaded=0,
        rows_quarantined=sum(r.rows_quarantined for r in recorded),
    )


def landing_summary(settings: Settings) -> str:
    """A plain-text table of files and rows per source from the load manifest."""
    if not settings.warehouse.exists():
        return f"no warehouse at {settings.warehouse}: run the pipeline first"
    with warehouse.open_warehouse(settings, read_only=True) as con:
        rows = con.execute(
            """
            select source, count(*) as files,
                count(*) filter (where status in ('unreadable', 'unrecognized', 'empty')),
                sum(rows_read), sum(rows_loaded), sum(rows_quarantined),
                bool_and(rows_read = rows_loaded + rows_quarantined)
            from compliance.load_manifest group by source order by source
            """
        ).fetchall()
    from voice_compliance.reporting import format_table

    header = ("source", "files", "unusable", "read", "loaded", "quarantined", "reconciled")
    lines = format_table(header, [(*r[:6], "yes" if r[6] else "NO") for r in rows])
    return "\n".join([f"Landing summary ({settings.warehouse})", *lines])
