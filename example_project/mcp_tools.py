"""The example's MCP tools, on the official ``mcp`` SDK's server (imported by
``mcp_server`` on the first call to ``/mcp``, which has already judged the credential and
put the caller in the ``x-ainative-caller`` header)."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from .mcp_server import CALLER_HEADER

server = MCPServer(name="ainative-example", version="1.0")


def _caller(ctx: Context) -> dict[str, Any]:
    headers = ctx.headers or {}
    return json.loads(headers.get(CALLER_HEADER, "{}"))


@server.tool()
def whoami(ctx: Context) -> str:
    """The email address of the user this token or key acts for."""
    return str(_caller(ctx).get("email", ""))


@server.tool()
def credits_balance(ctx: Context) -> dict[str, Any]:
    """The caller's credit balance (scope credits:read)."""
    return {"balance": 0, "currency": "credits", "user_id": _caller(ctx).get("id")}
