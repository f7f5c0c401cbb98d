"""What each landing source looks like: paths, formats, columns and types.

One declaration per source of contract.md. Loaders, validation and the raw
table DDL are all generated from these specs, so adding a column or a source
is a change here only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from voice_compliance.loading.registry_table import LINES_TABLE

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
    pattern: str = ""
    """A regular expression (RE2, whole value) a non-empty text value must
    match: a required column's record is quarantined otherwise; an optional
    column's value is loaded as NULL, with a note in ``_extra`` (``validate``)."""
    shape: str = ""
    """What ``pattern`` means, for quarantine reasons and notes."""
    bounded: bool = True
    """A timestamp that dates an event (a call, a consent, a complaint): it must
    fall in ``validate.EVENT_RANGE`` or its record is quarantined. False for
    validity bounds (``active_from``, ``active_to``, ``revoked_at``), where
    ``9999-12-31`` is a common way to write "open"."""

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


CALL_SID = r"CA[0-9a-f]{32}"
ACCOUNT_SID = r"AC[0-9a-fA-F]{32}"
CALL_SID_SHAPE = "not a Twilio call SID (CA + 32 hex characters)"
ACCOUNT_SID_SHAPE = "not a Twilio account SID (AC + 32 hex characters)"


def call_sid(name: str, *, required: bool = False) -> Column:
    """A column holding a Twilio call SID (``CA`` and 32 lowercase hex digits)."""
    return Column(name, required=required, pattern=CALL_SID, shape=CALL_SID_SHAPE)


def account_sid(name: str = "account_sid") -> Column:
    """A required column holding a Twilio account SID (``AC`` and 32 hex digits)."""
    return Column(name, required=True, pattern=ACCOUNT_SID, shape=ACCOUNT_SID_SHAPE)


CALL_COLUMNS: tuple[Column, ...] = (
    call_sid("sid", required=True),
    account_sid(),
    call_sid("parent_call_sid"),
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
        (call_sid("call_sid", required=True), Column("campaign_id", required=True)),
    ),
    _csv_source(
        "campaigns",
        "campaigns/",
        (
            Column("campaign_id", required=True),
            account_sid(),
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
            account_sid(),
            Column("kind", "enum", required=True, values=("twilio_owned", "verified_caller_id")),
            Column("active_from", "timestamp", required=True, bounded=False),
            Column("active_to", "timestamp", bounded=False),
            Column("default_campaign_id"),
        ),
    ),
    _csv_source(
        "accounts",
        "accounts/",
        (
            account_sid(),
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
            Column("revoked_at", "timestamp", bounded=False),
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
            call_sid("call_sid"),
        ),
    ),
    _csv_source(
        "disclosures",
        "disclosures/",
        (
            call_sid("call_sid", required=True),
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
            call_sid("call_sid"),
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
        table=LINES_TABLE,  # read through the raw.registry_entries view
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
