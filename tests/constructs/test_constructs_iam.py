"""IAM: least privilege for every statement the constructs add."""

from __future__ import annotations

from typing import Any

from constructs_helpers import Built


def _statements(built: Built) -> list[tuple[str, dict[str, Any]]]:
    policies = built.template.find_resources("AWS::IAM::Policy")
    return [
        (logical_id, statement)
        for logical_id, policy in policies.items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_statement_allows_every_resource(full: Built, minimal: Built) -> None:
    # GIVEN the full-featured and the minimal stacks
    # THEN no IAM statement has Resource "*"
    for built in (full, minimal):
        for logical_id, statement in _statements(built):
            assert "*" not in _as_list(statement["Resource"]), (logical_id, statement)


def test_manage_connections_scoped_to_api_stage_method_and_connections(full: Built) -> None:
    # GIVEN route handlers of a two-stage API
    # THEN each ManageConnections resource is {apiId}/{stage}/{METHOD}/@connections/*
    api_ref = full.resolve(full.api.api.api_id)
    found = 0
    for _, statement in _statements(full):
        if statement["Action"] != "execute-api:ManageConnections":
            continue
        for resource in _as_list(statement["Resource"]):
            parts = resource["Fn::Join"][1]
            assert parts[:2] == ["arn:", {"Ref": "AWS::Partition"}]
            assert parts[-2] == api_ref
            stage, method, *path = parts[-1].lstrip("/").split("/")
            assert stage in {"production", "dev"}
            assert method in {"POST", "GET", "DELETE"}
            assert path == ["@connections", "*"]
            found += 1
    # 5 route handlers x 2 stages x 3 methods, plus the broadcaster's production/POST
    assert found == 5 * 2 * 3 + 1


def test_every_route_handler_role_can_manage_connections_and_use_the_table(full: Built) -> None:
    # THEN each route handler's policy has the table statement and the ManageConnections one
    policies = full.template.find_resources("AWS::IAM::Policy")
    table_arn = full.resolve(full.api.table.table_arn)
    for name in ("Connect", "Shared", "Fallback", "Send", "Join"):
        role = full.resolve(full.functions[name].role.role_name)  # type: ignore[union-attr]
        (policy,) = [p for p in policies.values() if role in p["Properties"]["Roles"]]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        actions = [s["Action"] for s in statements]
        assert "execute-api:ManageConnections" in actions, name
        table_statement = next(s for s in statements if isinstance(s["Action"], list))
        assert table_statement["Resource"][0] == table_arn
        assert "dynamodb:PutItem" in table_statement["Action"]


def test_shared_handler_gets_one_set_of_statements(full: Built) -> None:
    # GIVEN one function serving $disconnect and whoami / THEN its grants are not duplicated
    role = full.resolve(full.functions["Shared"].role.role_name)  # type: ignore[union-attr]
    (policy,) = [
        p
        for p in full.template.find_resources("AWS::IAM::Policy").values()
        if role in p["Properties"]["Roles"]
    ]
    assert len(policy["Properties"]["PolicyDocument"]["Statement"]) == 2


def test_authorizer_handler_gets_no_permissions(full: Built) -> None:
    # THEN the authorizer function has no policy from the constructs
    role = full.resolve(full.functions["Authorize"].role.role_name)  # type: ignore[union-attr]
    assert not [
        p
        for p in full.template.find_resources("AWS::IAM::Policy").values()
        if role in p["Properties"]["Roles"]
    ]


def test_grant_to_broadcaster_is_one_stage_and_method(full: Built) -> None:
    # GIVEN grant_manage_connections(broadcaster, stage="production", methods=("POST",))
    role = full.resolve(full.functions["Broadcaster"].role.role_name)  # type: ignore[union-attr]
    (policy,) = [
        p
        for p in full.template.find_resources("AWS::IAM::Policy").values()
        if role in p["Properties"]["Roles"]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:ManageConnections"
    assert statement["Resource"]["Fn::Join"][1][-1] == "/production/POST/@connections/*"


def _store_operations() -> dict[str, set[str]]:
    """The DynamoDB operations lambda_runtime/store.py calls (``self._call("put_item", ...)``),
    as IAM actions, by the ConnectionStore method that calls them."""
    import ast
    import inspect

    from lambda_runtime import store

    calls: dict[str, set[str]] = {}
    tree = ast.parse(inspect.getsource(store))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ConnectionStore"]
    for method in cls.body:
        if not isinstance(method, ast.FunctionDef):
            continue
        # operation names given through a local variable (``operation = "scan"``)
        assigned: dict[str, set[str]] = {}
        for node in ast.walk(method):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                        assigned.setdefault(target.id, set()).add(node.value.value)
        for node in ast.walk(method):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "_call"
            ):
                first = node.args[0]
                if isinstance(first, ast.Constant):
                    names = {str(first.value)}
                else:
                    assert isinstance(first, ast.Name), "store names DynamoDB operations plainly"
                    names = assigned[first.id]
                for name in names:
                    action = "dynamodb:" + "".join(p.title() for p in name.split("_"))
                    calls.setdefault(method.name, set()).add(action)
    return calls


def test_table_grant_is_exactly_what_the_store_calls() -> None:
    # GIVEN the operations ConnectionStore calls, read from its source
    from cdk_ws_api.grants import TABLE_ACTIONS, TABLE_READ_ACTIONS

    calls = _store_operations()
    every = set().union(*calls.values())
    assert {"dynamodb:PutItem", "dynamodb:Query"} <= every  # the parse found the calls
    # THEN the handlers' grant is that set, nothing more (no BatchGetItem, DescribeTable, ...)
    assert set(TABLE_ACTIONS) == every
    # AND the read grant is what the read methods (get, ids) call
    assert set(TABLE_READ_ACTIONS) == calls["get"] | calls["ids"]


def test_route_handler_policy_has_only_the_store_actions(minimal: Built) -> None:
    from cdk_ws_api.grants import TABLE_ACTIONS

    (policy,) = minimal.template.find_resources("AWS::IAM::Policy").values()
    table_statement = next(
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if isinstance(s["Action"], list)
    )
    assert sorted(table_statement["Action"]) == sorted(TABLE_ACTIONS)
    for unused in (
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
    ):
        assert unused not in table_statement["Action"]
