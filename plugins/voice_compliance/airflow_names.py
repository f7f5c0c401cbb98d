"""Names of the Airflow objects the package shares: the pipeline's DAG ids and the writer pool.

Declared once, here, at the bottom of the package (no imports at all), so
DAG support code, validation and the CLI's Airflow runner all read the same
names without importing each other.
"""

from __future__ import annotations

WRITER_POOL = "duckdb_writer"
"""The Airflow pool that lets one task at a time write the DuckDB warehouse."""
WRITER_POOL_SLOTS = 1

INGESTION_DAGS: tuple[str, ...] = ("vc_ingest_calls", "vc_ingest_exports", "vc_ingest_registries")
TRANSFORM_DAG = "vc_transform"
VALIDATION_DAG = "vc_validate"
PIPELINE_DAGS: tuple[str, ...] = (*INGESTION_DAGS, TRANSFORM_DAG, VALIDATION_DAG)
"""Every DAG of the pipeline, in the order ``run`` executes them."""
