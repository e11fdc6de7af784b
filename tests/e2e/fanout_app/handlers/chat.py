"""Chat of the fan-out e2e app: ``$connect`` puts the connection in room ``?room=`` (default
``lobby``); ``publish`` (``{"action": "publish", "room": ..., "data": ..., "per": N}``) fans
``data`` out to the room, N ids per SQS message, and answers the tracking id."""

from lambda_runtime import ConnectionStore, WebSocketApp, fanout

app = WebSocketApp()
store = ConnectionStore()


@app.connect
def connect(event):
    store.put(event, group=event.query.get("room") or "lobby")


@app.disconnect
def disconnect(event):
    store.delete(event.connection_id)


@app.route("publish")
def publish(event):
    body = event.json()
    tracking_id = fanout.publish(
        body["data"], group=body["room"], ids_per_message=int(body.get("per", 5))
    )
    return {"trackingId": tracking_id}


handler = app
