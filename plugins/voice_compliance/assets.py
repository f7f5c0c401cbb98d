"""Airflow Assets for the raw datasets the ingestion DAGs write.

One Asset per landing source (``raw.<source>``: the source's rows in the raw
layer); the registry state is derived by dbt, like every other model.
Ingestion tasks name them as ``outlets``; transformation DAGs schedule on
them, so ingestion, transformation and validation are chained by data, not
by time. ``marts.compliance`` is what the transformation emits.

The URIs use a private ``x-voice-compliance`` scheme: Airflow 3 accepts any
scheme prefixed ``x-`` as is (no provider normalizer is looked up, no
warning), and the URI names the logical table rather than the DuckDB file, so
it stays stable whichever warehouse file a deployment configures.

This module is imported by every DAG file at parse time, so it imports only
``airflow.sdk.Asset``. The source names are repeated here rather than
imported from ``voice_compliance.ingest`` because that module pulls in the
loaders; ``tests/dags`` checks that the two lists agree.
"""

from __future__ import annotations

from airflow.sdk import Asset

URI_SCHEME = "x-voice-compliance"
"""Private URI scheme of our Assets (``x-`` schemes are taken verbatim)."""

ASSET_GROUP = "voice-compliance-raw"

CALL_SOURCES: tuple[str, ...] = ("calls",)
EXPORT_SOURCES: tuple[str, ...] = (
    "call_metadata",
    "campaigns",
    "numbers",
    "accounts",
    "consent",
    "optouts",
    "disclosures",
    "complaints",
    "dnc_internal",
)
REGISTRY_SOURCES: tuple[str, ...] = (
    "registry_us_national",
    "registry_uk_tps",
    "registry_uk_ctps",
    "registry_ca_dncl",
)
ALL_SOURCES: tuple[str, ...] = CALL_SOURCES + EXPORT_SOURCES + REGISTRY_SOURCES


def asset_uri(dataset: str) -> str:
    """The stable URI of the raw dataset ``dataset`` (e.g. ``calls``)."""
    return f"{URI_SCHEME}://warehouse/raw/{dataset}"


def _make_asset(dataset: str) -> Asset:
    return Asset(name=f"raw.{dataset}", uri=asset_uri(dataset), group=ASSET_GROUP)


RAW_ASSETS: dict[str, Asset] = {source: _make_asset(source) for source in ALL_SOURCES}
"""One Asset per landing source, keyed by source name."""


def raw_asset(source: str) -> Asset:
    """The Asset of landing source ``source``; raises ``KeyError`` for unknown names."""
    try:
        return RAW_ASSETS[source]
    except KeyError:
        known = ", ".join(ALL_SOURCES)
        raise KeyError(f"unknown landing source {source!r}; known: {known}") from None


MARTS_ASSET: Asset = Asset(
    name="marts.compliance",
    uri=f"{URI_SCHEME}://warehouse/marts/compliance",
    group="voice-compliance-marts",
)
"""The compliance marts (one table per clause, ``policy_violations``,
``clause_summary``) that ``vc_transform`` rebuilds with dbt; the validation
DAG schedules on it."""

TWILIO_PULL_ASSET: Asset = Asset(
    name="landing.twilio_calls",
    uri=f"{URI_SCHEME}://landing/calls/twilio",
    group="voice-compliance-landing",
)
"""The call records ``vc_pull_twilio`` writes into the landing zone
(``calls/region=<r>/twilio_<account>_<day>.jsonl.gz``); ``vc_ingest_calls``
schedules on it besides its daily schedule."""

INGESTION_ASSETS: tuple[Asset, ...] = tuple(RAW_ASSETS.values())
"""Every Asset the ingestion DAGs update: what ``vc_transform`` waits for."""

VALIDATION_ASSET: Asset = Asset(
    name="validation.results",
    uri=f"{URI_SCHEME}://warehouse/compliance/validation_results",
    group="voice-compliance-validation",
)
"""The expectation results (``compliance.validation_results``) and tickets
that ``vc_validate`` writes after validating the marts."""
