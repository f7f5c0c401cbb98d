"""What each landing source looks like: paths, formats, columns and types.

One declaration per source of contract.md. Loaders, validation and the raw
table DDL are all generated from these specs, so adding a column or a source
is a change here only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "timestamp", "integer", "number", "boolean", "enum"]
Format = Literal["csv", "calls", "registry"]


@dataclass(frozen=True)
class Column:
    """One source column: its name in the file, its name in the raw table and
    how it is typed and checked."""

    name: str
    kind: Kind = "text"
    required: bool = False
    values: tuple[str, ...] = ()
    target: str = ""
    phone: bool = False

    @property
    def column(self) -> str:
        """The raw-table column name (``from`` and ``to`` are SQL keywords)."""
        return self.target or self.name


@dataclass(frozen=True)
class Source:
    """A landing source: where its files are and what their rows hold."""

    name: str
    table: str
    prefix: str
    format: Format
    columns: tuple[Column, ...] = ()
    path_pattern: re.Pattern[str] = field(default=re.compile(r".*"))
    partition_columns: tuple[str, ...] = ()

    def matches(self, key: str) -> re.Match[str] | None:
        """The path match (with partition groups) when ``key`` is one of ours."""
        return self.path_pattern.fullmatch(key)

    @property
    def phone_columns(self) -> tuple[str, ...]:
        """Raw-table columns holding phone numbers to normalize."""
        return tuple(c.column for c in self.columns if c.phone)


def _csv_source(name: str, prefix: str, columns: tuple[Column, ...]) -> Source:
    return Source(
        name=name,
        table=name,
        prefix=prefix,
        format="csv",
        columns=columns,
        path_pattern=re.compile(re.escape(prefix) + r"(?:[^/]+/)*[^/]+\.csv(?:\.gz)?"),
    )


CALL_COLUMNS: tuple[Column, ...] = (
    Column("sid", required=True),
    Column("account_sid", required=True),
    Column("parent_call_sid"),
    Column("from", target="from_number", phone=True),
    Column("to", target="to_number", phone=True),
    Column("status"),
    Column("direction"),
    Column("start_time", "timestamp"),
    Column("end_time", "timestamp"),
    Column("duration", "integer"),
    Column("answered_by"),
    Column("queue_time", "integer"),
    Column("trunk_sid"),
    Column("price", "number"),
    Column("price_unit"),
    Column("caller_name"),
    Column("date_created", "timestamp"),
    Column("date_updated", "timestamp"),
)

CALLS = Source(
    name="calls",
    table="calls",
    prefix="calls/",
    format="calls",
    columns=CALL_COLUMNS,
    path_pattern=re.compile(
        r"calls/region=(?P<home_region>[A-Za-z0-9_-]+)/(?:[^/]+/)*[^/]+\.(?:jsonl|json|csv)(?:\.gz)?"
    ),
    partition_columns=("home_region",),
)

EXPORTS: tuple[Source, ...] = (
    _csv_source(
        "call_metadata",
        "call_metadata/",
        (Column("call_sid", required=True), Column("campaign_id", required=True)),
    ),
    _csv_source(
        "campaigns",
        "campaigns/",
        (
            Column("campaign_id", required=True),
            Column("account_sid", required=True),
            Column("brand", required=True),
            Column(
                "purpose",
                "enum",
                required=True,
                values=("telemarketing", "informational", "transactional", "other"),
            ),
        ),
    ),
    _csv_source(
        "numbers",
        "numbers/",
        (
            Column("phone_number", required=True, phone=True),
            Column("account_sid", required=True),
            Column("kind", "enum", required=True, values=("twilio_owned", "verified_caller_id")),
            Column("active_from", "timestamp", required=True),
            Column("active_to", "timestamp"),
            Column("default_campaign_id"),
        ),
    ),
    _csv_source(
        "accounts",
        "accounts/",
        (
            Column("account_sid", required=True),
            Column("region", required=True),
            Column("cps_allotted", "number", required=True),
        ),
    ),
    _csv_source(
        "consent",
        "consent/",
        (
            Column("phone_number", required=True, phone=True),
            Column("brand", required=True),
            Column(
                "consent_type",
                "enum",
                required=True,
                values=("express_written", "express", "ebr_purchase", "ebr_inquiry"),
            ),
            Column("channel", "enum", required=True, values=("voice", "sms", "all")),
            Column("granted_at", "timestamp", required=True),
            Column("revoked_at", "timestamp"),
            Column("source"),
            Column("evidence_ref"),
        ),
    ),
    _csv_source(
        "optouts",
        "optouts/",
        (
            Column("phone_number", required=True, phone=True),
            Column("brand"),
            Column("requested_at", "timestamp", required=True),
            Column("method", "enum", values=("dtmf", "verbal", "sms", "web", "email")),
            Column("call_sid"),
        ),
    ),
    _csv_source(
        "disclosures",
        "disclosures/",
        (
            Column("call_sid", required=True),
            Column("identity_disclosed_at_s", "number"),
            Column("purpose_disclosed_at_s", "number"),
            Column("opt_out_offered", "boolean", required=True),
        ),
    ),
    _csv_source(
        "complaints",
        "complaints/",
        (
            Column("complaint_id", required=True),
            Column("received_at", "timestamp", required=True),
            Column(
                "source", "enum", values=("consumer", "carrier", "regulator", "law_enforcement")
            ),
            Column("caller_id", phone=True),
            Column("callee", phone=True),
            Column("call_sid"),
            Column("category"),
        ),
    ),
    _csv_source(
        "dnc_internal",
        "dnc/internal/",
        (
            Column("phone_number", required=True, phone=True),
            Column("added_at", "timestamp", required=True),
            Column("brand"),
            Column("reason"),
        ),
    ),
)

REGISTRY_NAMES: tuple[str, ...] = ("us_national", "uk_tps", "uk_ctps", "ca_dncl")


def _registry_source(registry: str) -> Source:
    return Source(
        name=f"registry_{registry}",
        table="registry_entries",
        prefix=f"dnc/{registry}/",
        format="registry",
        path_pattern=re.compile(
            re.escape(f"dnc/{registry}/")
            + r"(?P<list_kind>full|changes)/(?P<effective_date>[^/]+)/"
            + r"(?:[^/]+/)*[^/]+\.txt(?:\.gz)?"
        ),
        partition_columns=("list_kind", "effective_date"),
    )


REGISTRIES: tuple[Source, ...] = tuple(_registry_source(r) for r in REGISTRY_NAMES)

SOURCES: dict[str, Source] = {s.name: s for s in (CALLS, *EXPORTS, *REGISTRIES)}
