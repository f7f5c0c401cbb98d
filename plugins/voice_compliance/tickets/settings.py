"""Typed settings of the ticket sink: the ``tickets`` section of ``Settings``
(``VC_TICKET_*`` environment variables) plus what only code sets.

Which sink runs is configuration; where it points and its credentials are an
Airflow connection (``VC_TICKET_CONN_ID``, default ``vc_tickets``), never a
setting. Inside an Airflow task the connection comes from the task's secrets
backends (environment, then the API server); in a plain process an
``AIRFLOW_CONN_VC_TICKETS`` environment variable (JSON or URI) is enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voice_compliance.config import Settings, TicketSettings, section_to_env
from voice_compliance.policy import Route, Routing

SINKS = ("table", "webhook", "jira")
"""``table``: tickets stay in the warehouse only; the others also post over HTTP."""


class SinkConfigError(Exception):
    """The sink cannot be used as configured (missing connection, missing field)."""


@dataclass(frozen=True)
class SinkConnection:
    """Where an HTTP sink posts, and as whom: built from an Airflow connection."""

    base_url: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> tuple[str, str] | None:
        """HTTP basic auth (login, password) when a login is set."""
        if not self.login:
            return None
        return (self.login, self.password or "")

    @property
    def headers(self) -> dict[str, str]:
        """Extra request headers from the connection's ``extra.headers``."""
        headers = self.extra.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise SinkConfigError("the connection's extra.headers must be a JSON object")
        return {str(k): str(v) for k, v in headers.items()}

    def url(self, path: str = "") -> str:
        """``base_url`` joined with ``path`` by exactly one slash."""
        if not path:
            return self.base_url
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    @classmethod
    def from_airflow(cls, conn: Any) -> SinkConnection:
        """Build from an Airflow ``Connection`` (host, port, schema as scheme, login,
        password, extra). The scheme defaults to https so a forgotten field never
        sends credentials in clear text."""
        host = (conn.host or "").strip()
        if not host:
            raise SinkConfigError(f"Airflow connection {conn.conn_id!r} has no host")
        if "://" in host:
            base = host.rstrip("/")
        else:
            scheme = (conn.schema or "https").strip() or "https"
            port = f":{conn.port}" if conn.port else ""
            base = f"{scheme}://{host}{port}"
        extra = conn.extra_dejson if isinstance(conn.extra_dejson, Mapping) else {}
        return cls(base_url=base, login=conn.login, password=conn.password, extra=dict(extra))


def resolve_connection(conn_id: str) -> SinkConnection:
    """Read Airflow connection ``conn_id`` through the Task SDK's ``BaseHook``.

    Raises :class:`SinkConfigError` (with a hint) when it is not defined or
    cannot be read, so the caller can record the error instead of crashing.
    """
    try:
        from airflow.sdk.bases.hook import BaseHook  # heavy: only when a sink delivers
    except ImportError as exc:  # pragma: no cover - Airflow is part of the stack
        raise SinkConfigError(f"Airflow is not importable to read {conn_id!r}: {exc}") from exc
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        # AirflowNotFoundException, or a secrets backend that cannot be reached.
        env = f"AIRFLOW_CONN_{conn_id.upper()}"
        raise SinkConfigError(
            f"Airflow connection {conn_id!r} is not available ({type(exc).__name__}: {exc}); "
            f"define it in Airflow or as the environment variable {env}"
        ) from exc
    return SinkConnection.from_airflow(conn)


@dataclass(frozen=True)
class TicketSinkSettings:
    """Which sink delivers ticket events, and how patiently.

    ``connection`` is for tests and scripts that already hold the target;
    when it is None (always, from the environment) the sink resolves
    ``conn_id`` through Airflow at delivery time. ``routing`` (``policy.yml``,
    decision 0016) gives a new Jira issue the assignee and component of its
    clause's owner; ``None`` sets neither.
    """

    sink: str = "table"
    conn_id: str = "vc_tickets"
    timeout_s: float = 10.0
    retries: int = 2
    backoff_s: float = 0.5
    connection: SinkConnection | None = None
    routing: Routing | None = None

    def route(self, owner: str | None) -> Route:
        """Where ``owner``'s tickets go (an empty route without routing)."""
        return self.routing.route(owner) if self.routing is not None else Route()

    def __post_init__(self) -> None:
        """Reject an unknown sink or negative numbers at configuration time."""
        if self.sink not in SINKS:
            raise ValueError(f"unknown ticket sink {self.sink!r}; expected one of {SINKS}")
        if self.timeout_s <= 0 or self.retries < 0 or self.backoff_s < 0:
            raise ValueError("ticket sink timeout must be > 0, retries and backoff >= 0")

    @classmethod
    def from_settings(cls, tickets: TicketSettings, **overrides: Any) -> TicketSinkSettings:
        """From the ``tickets`` section of ``Settings``, then ``overrides``
        (``None`` overrides are ignored)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**tickets.model_dump(), **clean})

    @classmethod
    def from_env(cls, **overrides: Any) -> TicketSinkSettings:
        """``from_settings`` with the ``tickets`` section read from the environment
        (``VC_TICKET_SINK``, ``VC_TICKET_CONN_ID``, ``VC_TICKET_TIMEOUT_S``,
        ``VC_TICKET_RETRIES``, ``VC_TICKET_BACKOFF_S``)."""
        return cls.from_settings(Settings.section_from_env("tickets"), **overrides)

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process."""
        section = TicketSettings(
            sink=self.sink,
            conn_id=self.conn_id,
            timeout_s=self.timeout_s,
            retries=self.retries,
            backoff_s=self.backoff_s,
        )
        return section_to_env(section)
