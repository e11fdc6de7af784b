from lambda_runtime import ConnectionStore, WebSocketApp

app = WebSocketApp()
store = ConnectionStore()


@app.connect
def connect(event):
    store.put(event)


@app.disconnect
def disconnect(event):
    store.delete(event.connection_id)


@app.route("whoami")
def whoami(event):
    return {"connectionId": event.connection_id}


handler = app
