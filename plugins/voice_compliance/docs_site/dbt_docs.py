"""The dbt docs site: which files make it, where its index is, links into it.

``dbt docs generate --static`` (run by ``dbt_runner.dbt_docs_generate``, or by
Cosmos in the transform DAG) writes the site into dbt's target folder;
:func:`keep_dbt_docs` copies a generated site from a temporary project copy
into this deployment's target folder, and :func:`dbt_docs_index` names the
self-contained page that links point at. :func:`docs_fingerprint` sums up
what a site shows, so that the transform DAG keeps the current site when a
run changed nothing of it (:func:`docs_are_current`,
:func:`record_docs_fingerprint`; decision 0026).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from voice_compliance import atomic_files

log = logging.getLogger(__name__)

STATIC_INDEX = "static_index.html"
"""The self-contained page (manifest and catalog inlined): opens without a web server."""

DBT_DOCS_FILES: tuple[str, ...] = (STATIC_INDEX, "index.html", "catalog.json", "manifest.json")
"""What ``dbt docs generate --static`` writes and :func:`keep_dbt_docs` keeps;
``index.html`` and the two JSON files are what ``dbt docs serve`` needs."""


DOCS_FINGERPRINT = "docs_fingerprint.json"
"""Next to the kept site: the fingerprint of what it was generated from."""

VOLATILE_MANIFEST_KEYS = frozenset(
    {"created_at", "generated_at", "invocation_id", "invocation_started_at"}
)
"""Manifest keys that change on every dbt command while the project does not."""


def docs_fingerprint(
    manifest: Path, columns: Iterable[Iterable[Any]], vars: Mapping[str, Any]
) -> str | None:
    """What the docs site shows, as one hash; ``None`` without ``manifest``.

    The site is the manifest (the project: each node's source, config, docs
    and compiled SQL; the macros) and the catalog, which on DuckDB holds
    relations and their columns, no row counts or other statistics. So
    ``manifest`` (a build's), ``vars`` (dbt's ``--vars``: the policy) and
    ``columns`` (the warehouse's ``(schema, table, column, type)`` rows, in a
    stable order; those of relations the manifest does not declare, such as
    the validation results, are left out as the catalog leaves them out)
    determine it: a new day of calls changes none of them.
    Left out: the keys in ``VOLATILE_MANIFEST_KEYS`` and the compiled SQL,
    which follows from the source, the macros and the vars except where a
    model asks whether a relation exists yet (an incremental model's first
    build reads the whole history, the next ones the changed days): the
    site keeps the compiled form of the run that generated it.
    """
    try:
        text = manifest.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    content = json.loads(text)
    for node in (content.get("nodes") or {}).values():
        node.pop("compiled_code", None)
    relations = _declared_relations(content)
    digest = hashlib.sha256()
    digest.update(json.dumps(_without_volatile(content), sort_keys=True).encode())
    digest.update(json.dumps(dict(vars), sort_keys=True).encode())
    for row in columns:
        schema, table, *rest = (str(value) for value in row)
        if (schema.lower(), table.lower()) in relations:
            digest.update(json.dumps([schema, table, *rest]).encode())
    return digest.hexdigest()


_CATALOGED_TYPES = frozenset({"model", "seed", "snapshot"})


def _declared_relations(manifest: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(schema, name)`` of every relation the catalog can describe: built
    nodes (not ephemeral) and sources, lower case."""
    relations: set[tuple[str, str]] = set()
    for node in (manifest.get("nodes") or {}).values():
        materialized = (node.get("config") or {}).get("materialized")
        if node.get("resource_type") in _CATALOGED_TYPES and materialized != "ephemeral":
            name = node.get("alias") or node.get("name") or ""
            relations.add((str(node.get("schema") or "").lower(), str(name).lower()))
    for source in (manifest.get("sources") or {}).values():
        name = source.get("identifier") or source.get("name") or ""
        relations.add((str(source.get("schema") or "").lower(), str(name).lower()))
    return relations


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_volatile(item)
            for key, item in value.items()
            if key not in VOLATILE_MANIFEST_KEYS
        }
    if isinstance(value, list):
        return [_without_volatile(item) for item in value]
    return value


def docs_are_current(target_dir: Path, fingerprint: str | None) -> bool:
    """True when the site in ``target_dir`` was generated from ``fingerprint``."""
    if fingerprint is None or not all((target_dir / name).is_file() for name in DBT_DOCS_FILES):
        return False
    try:
        kept = json.loads((target_dir / DOCS_FINGERPRINT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(kept, dict) and kept.get("fingerprint") == fingerprint


def record_docs_fingerprint(target_dir: Path, fingerprint: str) -> None:
    """Remember that the site in ``target_dir`` shows ``fingerprint`` (atomic write)."""
    atomic_files.write_text(target_dir / DOCS_FINGERPRINT, json.dumps({"fingerprint": fingerprint}))


def dbt_docs_index(target_dir: Path) -> Path:
    """The docs site's entry page in dbt's target folder ``target_dir``."""
    return target_dir / STATIC_INDEX


def keep_dbt_docs(source_dir: Path, target_dir: Path) -> Path:
    """Copy the docs files dbt wrote in ``source_dir`` into ``target_dir``; the index.

    Raises ``FileNotFoundError`` naming what is missing when ``dbt docs
    generate`` did not write every file.
    """
    missing = [name for name in DBT_DOCS_FILES if not (source_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"dbt docs generate wrote no {', '.join(missing)} in {source_dir}")
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in DBT_DOCS_FILES:
        shutil.copyfile(source_dir / name, target_dir / name)
    log.info("dbt docs copied to %s", target_dir)
    return dbt_docs_index(target_dir)


def model_url(docs_url: str, model: str) -> str:
    """The page of ``model`` in the dbt docs site at ``docs_url`` (``""`` without a site)."""
    if not docs_url:
        return ""
    return f"{docs_url.split('#', 1)[0]}#!/model/model.voice_compliance.{model}"
