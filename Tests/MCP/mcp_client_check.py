#!/usr/bin/env python3
"""agentbox's /mcp endpoint through the official MCP Python SDK client (PyPI `mcp`), Streamable HTTP.

Run by ApplianceTests/MCPTests with one JSON argument: {"url", "owner" (the agents' owner's user token),
"agents": [{"name", "token", "item", "instance", "secret"}, ...]}. Each agent has `echo` allowed and `send` not.
Prints one line per check and `mcp: ok` at the end; any failed check raises.
"""
import asyncio
import json
import sys
import urllib.error
import urllib.request

from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

SETUP = json.loads(sys.argv[1])
URL = SETUP["url"]


def step(message):
    print(f"mcp: {message}", flush=True)


def rest(method, path, body):
    request = urllib.request.Request(SETUP["url"].replace("/mcp", "") + path, method=method, data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {SETUP['owner']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return answer.status


def session_of(agent, notifications=None):
    """The transport for `agent` (its token on every request) and a handler that keeps the notifications heard."""
    async def handler(message):
        if notifications is not None and isinstance(message, types.ToolListChangedNotification):
            notifications.append(message)
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {agent['token']}"})
    return streamable_http_client(URL, http_client=client), handler


async def check_agent(agent, other):
    transport, handler = session_of(agent)
    async with transport as (read, write):
        async with ClientSession(read, write, message_handler=handler) as session:
            info = await session.initialize()
            assert info.capabilities.tools is not None and info.capabilities.tools.list_changed, info.capabilities
            names = sorted(tool.name for tool in (await session.list_tools()).tools)
            echo = f"{agent['instance']}.echo"
            assert names == [echo], f"{agent['name']} may call exactly {echo}, not {names}"
            step(f"{agent['name']} lists only its allowed tool {echo}")

            result = await session.call_tool(echo, {"note": f"hello from {agent['name']}"})
            assert not result.is_error, result
            received = json.loads(result.content[0].text)["received"]
            assert received["credentials"]["api_key"] == agent["secret"], "the call carries this agent's own credentials"
            assert received["input"]["note"] == f"hello from {agent['name']}"
            assert other["secret"] not in result.content[0].text
            step(f"{agent['name']}'s call reached the container with its own credentials")

            denied = await session.call_tool(f"{agent['instance']}.send", {})
            assert denied.is_error and denied.content[0].text.startswith("capability_denied:"), denied
            assert denied.structured_content["error"]["code"] == "capability_denied"
            step(f"{agent['name']}'s call of a denied capability is a tool error with code capability_denied")
            if other["instance"] != agent["instance"]:
                foreign = await session.call_tool(f"{other['instance']}.echo", {})
                assert foreign.is_error and foreign.content[0].text.startswith("unknown_tool:"), foreign
                step(f"{agent['name']} cannot call {other['name']}'s tool: unknown_tool")


async def check_list_changed(agent):
    notifications = []
    transport, handler = session_of(agent, notifications)
    async with transport as (read, write):
        async with ClientSession(read, write, message_handler=handler) as session:
            await session.initialize()
            before = [tool.name for tool in (await session.list_tools()).tools]
            assert f"{agent['instance']}.echo" in before, before
            # The owner takes echo away; the session hears about it and the next list leaves it out.
            assert rest("PUT", f"/api/v1/toolbelt/{agent['item']}/permissions/echo", {"is_allowed": False}) == 200
            for _ in range(100):
                if notifications:
                    break
                await asyncio.sleep(0.1)
            assert notifications, notifications
            after = [tool.name for tool in (await session.list_tools()).tools]
            assert f"{agent['instance']}.echo" not in after, after
            denied = await session.call_tool(f"{agent['instance']}.echo", {})
            assert denied.is_error and denied.content[0].text.startswith("capability_denied:"), denied
            step(f"revoking {agent['name']}'s permission sent tools/list_changed and removed the tool from the next list")


def post(token, body, session_id=None):
    """A raw JSON-RPC POST to /mcp: its status and headers."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-06-18"}
    if session_id:
        headers["Mcp-Session-Id"] = session_id
    request = urllib.request.Request(URL, method="POST", data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def check_foreign_session(first, second):
    """A session opened by one agent is not found for another agent's token; no token at all is 401."""
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "check", "version": "1"}}}
    status, headers = post(first["token"], initialize)
    session_id = headers.get("Mcp-Session-Id")
    assert status == 200 and session_id, (status, dict(headers))
    status, _ = post(second["token"], {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session_id)
    assert status == 404, f"another agent's token used this agent's session: {status}"
    status, headers = post("", initialize)
    assert status == 401 and "Bearer" in headers.get("WWW-Authenticate", ""), status
    step("another agent's token cannot use a session it did not open; no token is 401")


async def check_mcp_container(agent):
    """A catalog tool that is itself an MCP server gets the call, with the credentials in its Authorization header."""
    transport, handler = session_of(agent)
    async with transport as (read, write):
        async with ClientSession(read, write, message_handler=handler) as session:
            await session.initialize()
            names = [tool.name for tool in (await session.list_tools()).tools]
            assert f"{agent['instance']}.echo" in names, names
            result = await session.call_tool(f"{agent['instance']}.echo", {"note": "through mcp"})
            assert not result.is_error, result
            structured = result.structured_content
            assert structured["authorization"] == f"Bearer {agent['secret']}", "the agent's credential arrived as the declared header"
            assert structured["received"]["params"]["name"] == "echo"
            assert structured["received"]["params"]["arguments"]["note"] == "through mcp"
            assert agent["secret"] not in json.dumps(structured["received"]), "the credential travels in the header only"
            step(f"the MCP tool got {agent['name']}'s call with its credential in the Authorization header")


async def main():
    if "container" in SETUP:
        await check_mcp_container(SETUP["container"])
        print("mcp: ok")
        return
    first, second = SETUP["agents"]
    await check_agent(first, second)
    await check_agent(second, first)
    check_foreign_session(first, second)
    await check_list_changed(first)
    print("mcp: ok")


asyncio.run(main())
