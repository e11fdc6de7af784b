"""The example chat service: one function serves every route of the WebSocket API.

Protocol (JSON text frames, routed on ``$request.body.action``):

- ``{"action": "join", "room": "r"}``: the connection joins room ``r`` (leaving any other).
- ``{"action": "send", "room": "r", "text": "..."}``: every connection in room ``r``
  receives ``{"room": "r", "from": "<user>", "text": "..."}``.
- ``{"action": "whoami"}``: two-way route; answers ``{"connectionId": "...", "user": "..."}``.
- ``{"action": "ping"}``: answered by API Gateway itself (a mock integration, see ``app.py``);
  listed here so that ``$default`` tells clients about it.
- anything else (``$default``): two-way; answers the list of actions.

A malformed ``join``/``send`` (no JSON object, missing or empty ``room``/``text``) is answered
to the sender alone with ``{"error": "...", "action": "..."}`` through ``@connections``: those
routes have no route response, so a returned body would be discarded by API Gateway.
"""

from __future__ import annotations

from typing import Any

from lambda_runtime import (
    ConnectEvent,
    Connections,
    ConnectionStore,
    DisconnectEvent,
    EventParseError,
    MessageEvent,
    WebSocketApp,
)

app = WebSocketApp()
store = ConnectionStore()

ACTIONS = {
    "join": {"action": "join", "room": "<room>"},
    "send": {"action": "send", "room": "<room>", "text": "<text>"},
    "whoami": {"action": "whoami"},
    "ping": {"action": "ping"},
}
MAX_ROOM_LENGTH = 128


def user_of(event: ConnectEvent | MessageEvent) -> str:
    """The user the authorizer established on ``$connect`` (its ``principalId``)."""
    return str(event.authorizer.get("user") or event.principal_id or "anonymous")


@app.connect
def on_connect(event: ConnectEvent) -> None:
    store.put(event, user=user_of(event))


@app.disconnect
def on_disconnect(event: DisconnectEvent) -> None:
    store.delete(event.connection_id)


@app.route("join")
def on_join(event: MessageEvent) -> None:
    request = _request(event, "join", required=("room",))
    if request is not None:
        store.set_group(event.connection_id, request["room"])


@app.route("send")
def on_send(event: MessageEvent) -> None:
    request = _request(event, "send", required=("room", "text"))
    if request is None:
        return
    message = {"room": request["room"], "from": user_of(event), "text": request["text"]}
    members = list(store.ids(group=request["room"]))
    # Gone members are removed from the table by broadcast itself.
    Connections.for_event(event).broadcast(members, message, store=store)


@app.route("whoami")
def on_whoami(event: MessageEvent) -> dict[str, str]:
    return {"connectionId": event.connection_id, "user": user_of(event)}


@app.default
def on_default(event: MessageEvent) -> dict[str, Any]:
    return {
        "message": "Unknown action. Send a JSON object whose 'action' is one of the actions.",
        "actions": ACTIONS,
    }


def _request(
    event: MessageEvent, action: str, *, required: tuple[str, ...]
) -> dict[str, str] | None:
    """The message's required string fields, or ``None`` after telling the sender what is wrong."""
    try:
        body = event.json()
    except EventParseError:  # not JSON (API Gateway routes such frames to $default)
        body = None
    problem = None
    if not isinstance(body, dict):
        problem = "the message must be a JSON object"
    else:
        for field in required:
            value = body.get(field)
            if not isinstance(value, str) or not value:
                problem = f"'{field}' must be a non-empty string"
                break
        else:
            if len(body["room"]) > MAX_ROOM_LENGTH:
                problem = f"'room' must be at most {MAX_ROOM_LENGTH} characters"
    if problem is not None:
        Connections.for_event(event).send(event.connection_id, {"error": problem, "action": action})
        return None
    return {field: body[field] for field in required}


handler = app
