"""The Twilio connection: accounts, home regions, hosts and credentials, validated.

One Airflow connection (``vc_twilio``, or the id in ``VC_TWILIO_CONN_ID``)
holds everything::

    AIRFLOW_CONN_VC_TWILIO='{"conn_type": "generic", "login": "SK...", "password": "...",
      "extra": {"account_sid": "AC...", "subaccounts": ["AC..."] or "all", "bulk_export": true,
                "regions": {"us1": {}, "ie1": {"key": "SK...", "secret": "...", "edge": "dublin"},
                            "au1": {"base_url": "http://127.0.0.1:8089/au1"}}}}'

``login``/``password`` are an API key SID and secret (or the account SID and
auth token); a region may carry its own ``key``/``secret`` (Twilio API keys
are regional), its ``edge``, and a ``base_url`` that replaces the whole
scheme-and-host part of every API URL of that region (a proxy, a test
server). Secrets are ``SecretStr``: they never appear in a ``repr``, a log
line or an error message.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from voice_compliance.config import Settings

DEFAULT_CONN_ID = "vc_twilio"
DEFAULT_EDGES: dict[str, str] = {
    "ie1": "dublin",
    "au1": "sydney",
    "jp1": "tokyo",
    "br1": "sao-paulo",
    "de1": "frankfurt",
    "sg1": "singapore",
}
"""The edge each non-US region is reached through when the connection names none
(``api.<region>.twilio.com`` without an edge is being retired by Twilio)."""
US1_API = "https://api.twilio.com"
US1_BULKEXPORTS = "https://bulkexports.twilio.com"
"""BulkExport exists in US1 only (Twilio Regions: not in IE1 or AU1)."""

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


def is_account_sid(value: object) -> bool:
    """Whether ``value`` is an account SID (``AC`` and 32 hex digits)."""
    return isinstance(value, str) and _ACCOUNT_SID.match(value) is not None


_REGION = re.compile(r"^[a-z]{2}[0-9]$")
_EDGE = re.compile(r"^[a-z][a-z-]*$")


class TwilioConfigError(ValueError):
    """The Twilio connection is missing or invalid (one line, no secret in it)."""


def _check_base_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must start with http:// or https:// and a host")
    return value.rstrip("/")


class RegionConfig(BaseModel):
    """One home region's host and (optionally) its own credentials."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str | None = None
    secret: SecretStr | None = None
    edge: str | None = None
    base_url: str | None = None
    """Replaces ``https://api.<edge>.<region>.twilio.com`` (the path is appended)."""
    bulkexports_base_url: str | None = None
    """Replaces ``https://bulkexports.twilio.com`` (US1 only)."""

    _urls = field_validator("base_url", "bulkexports_base_url")(_check_base_url)

    @field_validator("edge")
    @classmethod
    def _edge(cls, value: str | None) -> str | None:
        if value is not None and not _EDGE.match(value):
            raise ValueError("must be an edge location id such as dublin, sydney, ashburn")
        return value


class TwilioConfig(BaseModel):
    """Everything the puller needs; built by :func:`load_config`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str | None = None
    password: SecretStr | None = None
    account_sid: str
    subaccounts: tuple[str, ...] | Literal["all"] = ()
    """Further accounts pulled with the same credentials, or ``"all"``: every
    subaccount the Accounts list gives, looked up at each pull (needs a Main
    API key or the auth token)."""
    bulk_export: bool = False
    """Use the BulkExport daily files of the main account in US1 where they exist."""
    regions: dict[str, RegionConfig] = Field(min_length=1)
    lookback_days: int = Field(default=3, ge=0, le=60)
    """Days before the watermark pulled again (status, duration, date_updated change late)."""
    initial_days: int = Field(default=30, ge=1, le=3660)
    """Days pulled by the first incremental run, when no watermark exists yet."""
    page_size: int = Field(default=1000, ge=1, le=1000)
    timeout_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Attempts per HTTP request (first included) before a day is given up."""
    backoff_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    retry_after_max_s: float = Field(default=300.0, ge=0)
    """A ``Retry-After`` longer than this is cut to it."""

    @field_validator("account_sid")
    @classmethod
    def _account(cls, value: str) -> str:
        if not is_account_sid(value):
            raise ValueError("must be 'AC' followed by 32 hex digits")
        return value

    @field_validator("subaccounts", mode="before")
    @classmethod
    def _all_or_a_list(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "all":
            raise ValueError('must be a list of account SIDs or "all"')
        return value

    @field_validator("subaccounts")
    @classmethod
    def _subaccounts(cls, value: tuple[str, ...] | str) -> tuple[str, ...] | str:
        if isinstance(value, str):
            return value
        bad = [i for i, sid in enumerate(value) if not is_account_sid(sid)]
        if bad:
            raise ValueError(f"entry {bad[0]} must be 'AC' followed by 32 hex digits")
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: dict[str, RegionConfig]) -> dict[str, RegionConfig]:
        for name, region in value.items():
            if not _REGION.match(name):
                raise ValueError(f"{name!r} is not a region id such as us1, ie1, au1")
            if name != "us1" and not (region.edge or region.base_url or name in DEFAULT_EDGES):
                raise ValueError(f"{name}: needs an 'edge' (or a 'base_url')")
        return value

    @model_validator(mode="after")
    def _every_region_has_credentials(self) -> TwilioConfig:
        for name in self.regions:
            key, secret = self.credentials(name)
            if not key or not secret:
                raise ValueError(
                    f"regions.{name}: no credentials (set login/password or the region's "
                    "key/secret)"
                )
        return self

    @property
    def discovers_subaccounts(self) -> bool:
        """Whether the subaccounts are looked up at each pull (``"all"``)."""
        return self.subaccounts == "all"

    @property
    def accounts(self) -> tuple[str, ...]:
        """The main account then the listed subaccounts, without repeats (with
        ``"all"``, the main account: the pull adds what it looks up)."""
        listed = () if isinstance(self.subaccounts, str) else self.subaccounts
        return tuple(dict.fromkeys((self.account_sid, *listed)))

    def credentials(self, region: str) -> tuple[str | None, str | None]:
        """(key SID, secret) for ``region``: its own, else the connection's."""
        cfg = self.regions[region]
        key = cfg.key or self.login
        secret = cfg.secret or self.password
        return key, secret.get_secret_value() if secret else None

    def api_base(self, region: str) -> str:
        """Scheme and host of the REST API (2010-04-01) for ``region``."""
        cfg = self.regions[region]
        if cfg.base_url:
            return cfg.base_url
        edge = cfg.edge or DEFAULT_EDGES.get(region)
        if region == "us1" and not cfg.edge:
            return US1_API
        return f"https://api.{edge}.{region}.twilio.com"

    def bulkexports_base(self, region: str) -> str | None:
        """Scheme and host of the BulkExport API, or None where it does not exist."""
        if region != "us1":
            return None
        return self.regions[region].bulkexports_base_url or US1_BULKEXPORTS

    def uses_bulk_export(self, account: str, region: str) -> bool:
        """BulkExport serves the authenticated (main) account, in US1 only."""
        return self.bulk_export and region == "us1" and account == self.account_sid


def _one_line(exc: ValidationError, conn_id: str) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "extra"
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return f"Twilio connection {conn_id!r} is invalid: " + "; ".join(parts)


def config_from_connection(
    login: str | None,
    password: str | None,
    extra: Mapping[str, Any] | str | None,
    conn_id: str = DEFAULT_CONN_ID,
) -> TwilioConfig:
    """Validate a connection's fields into a :class:`TwilioConfig` (one-line errors)."""
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except ValueError:
            raise TwilioConfigError(
                f"Twilio connection {conn_id!r}: 'extra' is not a JSON object"
            ) from None
    if not isinstance(extra, Mapping):
        raise TwilioConfigError(f"Twilio connection {conn_id!r}: 'extra' must be a JSON object")
    fields: dict[str, Any] = {**extra, "login": login or None, "password": password or None}
    try:
        return TwilioConfig.model_validate(fields)
    except ValidationError as exc:
        raise TwilioConfigError(_one_line(exc, conn_id)) from None


def conn_id_from_env() -> str:
    """The connection id: ``VC_TWILIO_CONN_ID`` (``Settings.twilio``) or ``vc_twilio``."""
    return Settings.section_from_env("twilio").conn_id or DEFAULT_CONN_ID


def load_config(conn_id: str | None = None) -> TwilioConfig:
    """The validated Twilio configuration from the Airflow connection ``conn_id``.

    A JSON ``AIRFLOW_CONN_<ID>`` environment variable is read directly (no
    Airflow import, so the ``pull`` command starts fast); anything else
    (URI-form variables, the metadata database, a secrets backend) goes
    through Airflow's own connection lookup.
    """
    conn_id = conn_id or conn_id_from_env()
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw and raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            raise TwilioConfigError(f"AIRFLOW_CONN_{conn_id.upper()} is not valid JSON") from None
        if not isinstance(data, dict):
            raise TwilioConfigError(f"AIRFLOW_CONN_{conn_id.upper()} must be a JSON object")
        return config_from_connection(
            data.get("login"), data.get("password"), data.get("extra"), conn_id
        )
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException and friends
        raise TwilioConfigError(
            f"no Airflow connection {conn_id!r} ({type(exc).__name__}); define "
            f"AIRFLOW_CONN_{conn_id.upper()} or create it in Airflow (see docs/twilio.md)"
        ) from None
    return config_from_connection(conn.login, conn.password, conn.extra_dejson, conn_id)
