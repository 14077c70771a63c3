"""Small blocking HTTP calls for the launcher, chaos probes and actions (no gevent, no extra client).

Hive answers unknown ``/api/*`` paths with the dashboard's HTML and status 200, so callers get
the status, the content type and the parsed JSON (or None) and decide for themselves.

Hive's desktop token (``X-Hive-Token``) is sent only where it belongs: :func:`hive_call` and
:meth:`HttpClient.for_hive` add it, plain :func:`call` and :func:`request` never do, so the
tools server, the LLM stub and the admin endpoints never see it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from hive_resilience.clients.hive_events import auth_headers


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers, names in lower case (HTTP names are case-insensitive)."""

    @property
    def json(self) -> Any:
        """The parsed body when it is JSON, else None."""
        if not self.content_type.startswith("application/json"):
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def call(method: str, url: str, payload: Any = None, timeout_s: float = 5.0,
         headers: dict[str, str] | None = None) -> HttpAnswer:
    """One JSON request; HTTP error statuses are answers, unreachable hosts raise OSError."""
    data = json.dumps(payload).encode() if payload is not None else None
    return request(method, url, data, {"Content-Type": "application/json", **(headers or {})}, timeout_s)


def hive_call(method: str, url: str, payload: Any = None, timeout_s: float = 5.0) -> HttpAnswer:
    """:func:`call` to the Hive API, with Hive's desktop token when ``HIVE_DESKTOP_TOKEN`` is set."""
    return call(method, url, payload, timeout_s, auth_headers())


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout_s: float = 5.0) -> HttpAnswer:
    """One request with exactly the body and headers given (contract tests send bad ones on purpose)."""
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(prepared, timeout=timeout_s) as response:
            return HttpAnswer(response.status, response.headers.get("Content-Type", ""), response.read(), _lower(response.headers))
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.headers.get("Content-Type", ""), error.read(), _lower(error.headers))
    except urllib.error.URLError as error:
        raise OSError(f"{method} {url}: {error.reason}") from None


class HttpClient:
    """``request``/``call`` bound to a base URL: what the containers' ``get_client()`` returns."""

    def __init__(self, base_url: str, timeout_s: float = 10.0, headers: dict[str, str] | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.headers = dict(headers or {})
        """Sent with every request of this client."""

    @classmethod
    def for_hive(cls, api_url: str, timeout_s: float = 10.0) -> HttpClient:
        """A client of the Hive API: its requests carry Hive's desktop token when one is set."""
        return cls(api_url, timeout_s, auth_headers())

    def call(self, method: str, path: str, payload: Any = None) -> HttpAnswer:
        return call(method, self.base_url + path, payload, self.timeout_s, self.headers)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> HttpAnswer:
        return request(method, self.base_url + path, body, {**self.headers, **(headers or {})}, self.timeout_s)


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
