"""Fault settings that a running stand-in (LLM stub, fault proxy) changes through an admin API.

Each stand-in declares its knobs as a dataclass whose defaults mean "healthy"; the shared
admin endpoint validates partial updates against the field types, so a chaos action that
sends a typo or a negative delay gets a 400 naming the problem, not a silently ignored key.
Both sides of ``/admin/faults`` live here: the server (:class:`FaultAdmin`) and the client
calls (:func:`read_faults`, :func:`put_faults`, :func:`reset_faults`) that the fault registry uses.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from aiohttp import web

from hive_resilience.clients import http_client

ADMIN_PATH = "/admin/faults"


class FaultAdminError(RuntimeError):
    """A stand-in's fault admin endpoint is unreachable or refused the change; the message says which."""


@dataclass
class FaultSettings:
    """Base for fault knobs: bool fields, and number fields >= 0 (and <= metadata["max"])."""

    def update(self, changes: dict) -> None:
        """Apply a partial update atomically: validate every key first, then set them."""
        declared = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(declared))
        if unknown:
            raise ValueError(f"unknown fault keys {unknown}; allowed: {sorted(declared)}")
        for key, value in changes.items():
            declared_type = declared[key].type
            if declared_type in (bool, "bool"):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                continue
            limit = declared[key].metadata.get("max")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{key} must be a number >= 0")
            if limit is not None and value > limit:
                raise ValueError(f"{key} must be between 0 and {limit}")
        for key, value in changes.items():
            setattr(self, key, value if isinstance(value, bool) else float(value))


class FaultAdmin:
    """Holds the current faults of one stand-in and serves ``/admin/faults`` for them."""

    def __init__(self, settings_type: type[FaultSettings]) -> None:
        self.settings_type = settings_type
        self.faults = settings_type()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(ADMIN_PATH, self._get),
            web.put(ADMIN_PATH, self._put),
            web.post(f"{ADMIN_PATH}/reset", self._reset),
        ]

    async def _get(self, _: web.Request) -> web.Response:
        return web.json_response(asdict(self.faults))

    async def _put(self, request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object")
            self.faults.update(changes)
        except (ValueError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(asdict(self.faults))

    async def _reset(self, _: web.Request) -> web.Response:
        self.faults = self.settings_type()
        return web.json_response(asdict(self.faults))


def healthy_faults(settings_type: type[FaultSettings]) -> dict:
    """The knob values that mean "healthy": the dataclass defaults, written nowhere else."""
    return asdict(settings_type())


def read_faults(base_url: str) -> dict:
    """The faults a stand-in serving at ``base_url`` has in force now."""
    return _admin_call("GET", base_url + ADMIN_PATH)


def put_faults(base_url: str, changes: dict) -> dict:
    """Change some of a stand-in's fault knobs; returns all of them as now in force."""
    return _admin_call("PUT", base_url + ADMIN_PATH, changes)


def reset_faults(base_url: str) -> dict:
    """Back to the healthy defaults; returns the knobs now in force."""
    return _admin_call("POST", f"{base_url}{ADMIN_PATH}/reset")


def _admin_call(method: str, url: str, payload: dict | None = None) -> dict:
    try:
        answer = http_client.call(method, url, payload)
    except OSError as error:
        raise FaultAdminError(f"fault admin endpoint unreachable: {error}") from None
    if answer.status != 200:
        raise FaultAdminError(f"{url} refused the faults: {(answer.json or {}).get('error', answer.status)}")
    return answer.json
