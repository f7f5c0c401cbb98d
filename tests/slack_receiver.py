"""A local stand-in for Slack's incoming webhook: a real HTTP server on 127.0.0.1.

``tests/conftest.py`` star-imports this module, so the ``receiver`` fixture is
available to every test; ``use_webhook`` defines the ``vc_slack`` Airflow
connection as an environment variable, the way a deployment does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["WEBHOOK_PATH", "Receiver", "receiver", "use_webhook"]

WEBHOOK_PATH = "/services/T0/B0/XYZ"


@dataclass
class Receiver:
    """A local incoming-webhook stand-in: records every POSTed JSON body."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    # Decides the HTTP status of each request from the body and the request count.
    respond: Callable[[dict[str, Any], int], int] = lambda body, n: 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state = holder[0]
            state.bodies.append(body)
            status = state.respond(body, len(state.bodies))
            reply = b"ok" if status == 200 else b"invalid_payload"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest's output to the assertions

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Receiver(url=f"http://127.0.0.1:{server.server_port}{WEBHOOK_PATH}"))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def use_webhook(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Define the ``vc_slack`` connection the way a deployment does, as an env var."""
    connection = {"conn_type": "slackwebhook", "password": url}
    monkeypatch.setenv("AIRFLOW_CONN_VC_SLACK", json.dumps(connection))
