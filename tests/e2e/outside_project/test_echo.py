"""The user's tests, with the local_api fixture of the cdk-ws-api plugin (nothing imported)."""

import json


def test_echo(local_api):
    with local_api.connect() as ws:
        ws.send("hello")
        assert json.loads(ws.recv(timeout=30)) == {"echo": "hello"}
    assert local_api.tables["Messages"].scan()["Count"] == 1
    assert local_api.printed("Echo") == ["stored hello"]


def test_each_test_starts_clean(local_api):
    assert local_api.tables["Messages"].scan()["Count"] == 0
    assert local_api.access_log == []
    local_api.connect().__enter__()  # left open on purpose: reset closes it


def test_invoke(local_api):
    result = local_api.invoke("Echo", {"requestContext": {"eventType": "CONNECT"}})
    assert result.payload == {"statusCode": 200}
