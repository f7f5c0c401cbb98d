"""The installed metadata tables, read back into Python for SQL generation.

normalize_relation generates its SQL from what ``install`` wrote, not from
the library directly, so the SQL and the reference tables can never
disagree about which metadata they describe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from voice_compliance.phones.tables import qualified

# The only transform-rule shape the SQL supports: digits around one group
# reference (phonenumbers' rules are all of this form today).
_TRANSFORM_RULE = re.compile(r"[0-9]*(?:\\[1-9])?[0-9]*")


@dataclass(frozen=True)
class Desc:
    """A number description: pattern plus possible lengths."""

    pattern: str
    possible_lengths: tuple[int, ...]
    local_only_lengths: tuple[int, ...]


@dataclass(frozen=True)
class Entity:
    """One metadata entity (a region, or a non-geographic calling code)."""

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

    @property
    def sql_supported(self) -> bool:
        """False when prefix stripping for this entity cannot be expressed in RE2 SQL."""
        rule = self.national_prefix_transform_rule
        if not rule:
            return True
        return (
            self.npfp_groups > 0
            and self.npfp_last_group_nonempty
            and _TRANSFORM_RULE.fullmatch(rule) is not None
        )


@dataclass(frozen=True)
class CountryCode:
    """A calling code with its entities in phonenumbers' order (main first)."""

    country_code: int
    md_keys: tuple[str, ...]
    geo_mobile: bool
    country_zone_set_id: int

    @property
    def main(self) -> str:
        """The main entity: its metadata is used for parsing."""
        return self.md_keys[0]


@dataclass(frozen=True)
class Catalog:
    """Everything the SQL generator needs, keyed for quick access."""

    entities: dict[str, Entity]
    country_codes: dict[int, CountryCode]
    cc_prefixes: dict[str, int]


def load_catalog(con: duckdb.DuckDBPyConnection, schema: str) -> Catalog:
    """Read the metadata tables of ``schema`` (see ``tables.install``)."""
    descs: dict[str, dict[str, Desc]] = {}
    for key, desc_type, pattern, lengths, local in con.execute(
        "SELECT md_key, desc_type, pattern, possible_lengths, local_only_lengths "
        f"FROM {qualified(schema, 'phone_number_descs')}"
    ).fetchall():
        descs.setdefault(key, {})[desc_type] = Desc(pattern, tuple(lengths), tuple(local))
    entities: dict[str, Entity] = {}
    ranked: dict[int, list[tuple[int, str]]] = {}
    for row in con.execute(
        "SELECT md_key, region_code, country_code, region_rank, leading_digits, "
        "international_prefix, national_prefix_for_parsing, national_prefix_transform_rule, "
        "npfp_groups, npfp_last_group_nonempty, same_mobile_and_fixed_line_pattern "
        f"FROM {qualified(schema, 'phone_regions')}"
    ).fetchall():
        entity = Entity(*row, descs=descs.get(row[0], {}))
        entities[entity.md_key] = entity
        ranked.setdefault(entity.country_code, []).append((entity.region_rank, entity.md_key))
    country_codes: dict[int, CountryCode] = {}
    for cc, geo_mobile, zone_set in con.execute(
        "SELECT country_code, geo_mobile, country_zone_set_id "
        f"FROM {qualified(schema, 'phone_country_codes')}"
    ).fetchall():
        keys = tuple(k for _, k in sorted(ranked.get(cc, [])))
        country_codes[cc] = CountryCode(cc, keys, geo_mobile, zone_set)
    cc_prefixes = dict(
        con.execute(
            f"SELECT digits, country_code FROM {qualified(schema, 'phone_cc_prefixes')}"
        ).fetchall()
    )
    return Catalog(entities, country_codes, cc_prefixes)
