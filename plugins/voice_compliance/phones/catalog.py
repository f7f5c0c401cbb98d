"""The installed metadata tables, read back into Python for SQL generation.

normalize_relation generates its SQL from what ``install`` wrote, not from
the library directly, so the SQL and the reference tables can never
disagree about which metadata they describe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from voice_compliance.phones.tables import qualified


@dataclass(frozen=True)
class Desc:
    """A number description: pattern plus possible lengths."""

    pattern: str
    possible_lengths: tuple[int, ...]
    local_only_lengths: tuple[int, ...]


@dataclass(frozen=True)
class Entity:
    """One metadata entity (a region, or a non-geographic calling code)."""

    md_id: int
    md_key: str
    region_code: str
    country_code: int
    region_rank: int
    leading_digits: str | None
    international_prefix: str | None
    national_prefix_for_parsing: str | None
    national_prefix_transform_rule: str | None
    npfp_groups: int
    npfp_last_group_nonempty: bool
    same_mobile_and_fixed_line_pattern: bool
    descs: dict[str, Desc] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyInfo:
    """One parse key (see derived.ParseKey), as the planner needs it."""

    parse_key: str
    country_code: int
    md_key: str
    main_md_key: str

    @property
    def is_region(self) -> bool:
        """A default-region key (else three digits after a '+')."""
        return not self.parse_key.isdigit()


@dataclass(frozen=True)
class Catalog:
    """Everything the SQL generator needs, keyed for quick access."""

    entities: dict[str, Entity]
    parse_keys: dict[int, KeyInfo]


def load_catalog(con: duckdb.DuckDBPyConnection, schema: str) -> Catalog:
    """Read the metadata tables of ``schema`` (see ``tables.install``)."""
    descs: dict[str, dict[str, Desc]] = {}
    for key, desc_type, pattern, lengths, local in con.execute(
        "SELECT md_key, desc_type, pattern, possible_lengths, local_only_lengths "
        f"FROM {qualified(schema, 'phone_number_descs')}"
    ).fetchall():
        descs.setdefault(key, {})[desc_type] = Desc(pattern, tuple(lengths), tuple(local))
    entities: dict[str, Entity] = {}
    for row in con.execute(
        "SELECT md_id, md_key, region_code, country_code, region_rank, leading_digits, "
        "international_prefix, national_prefix_for_parsing, national_prefix_transform_rule, "
        "npfp_groups, npfp_last_group_nonempty, same_mobile_and_fixed_line_pattern "
        f"FROM {qualified(schema, 'phone_regions')}"
    ).fetchall():
        entity = Entity(*row, descs=descs.get(row[1], {}))
        entities[entity.md_key] = entity
    by_id = {e.md_id: e.md_key for e in entities.values()}
    parse_keys = {
        kid: KeyInfo(key, cc, by_id[md], by_id[main])
        for kid, key, cc, md, main in con.execute(
            "SELECT key_id, parse_key, country_code, md_id, main_md_id "
            f"FROM {qualified(schema, 'phone_parse_keys')}"
        ).fetchall()
    }
    return Catalog(entities, parse_keys)
