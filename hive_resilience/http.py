"""Small blocking HTTP calls for the launcher, chaos probes and actions (no gevent, no extra client).

Hive answers unknown ``/api/*`` paths with the dashboard's HTML and status 200, so callers get
the status, the content type and the parsed JSON (or None) and decide for themselves.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from hive_resilience.hive_events import auth_headers


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes

    @property
    def json(self) -> Any:
        """The parsed body when it is JSON, else None."""
        if not self.content_type.startswith("application/json"):
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def call(method: str, url: str, payload: Any = None, timeout_s: float = 5.0) -> HttpAnswer:
    """One request; HTTP error statuses are answers, unreachable hosts raise OSError."""
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {"Content-Type": "application/json", **auth_headers()}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return HttpAnswer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.headers.get("Content-Type", ""), error.read())
    except urllib.error.URLError as error:
        raise OSError(f"{method} {url}: {error.reason}") from None
