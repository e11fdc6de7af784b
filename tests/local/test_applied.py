"""What applying a re-synthesized app changes, computed from two app versions (pure)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cdk_ws_api.local.applied import AppliedChanges
from cdk_ws_api.local.specs import ApiSpec, FunctionSpec, LocalApp, RouteSpec, TableSpec


def _app(*, stage: str = "dev", routes: tuple[str, ...] = ("$default",)) -> LocalApp:
    api = ApiSpec(
        logical_id="Api",
        name="api",
        api_id="abcdefghij",
        stage=stage,
        stages=(stage,),
        route_selection_expression="$request.body.action",
        routes={key: RouteSpec(key, "Echo") for key in routes},
        authorizers={},
        region="us-east-1",
        account="123456789012",
    )
    echo = FunctionSpec("Echo", "stack-Echo", "echo.handler", "python3.12", Path("/code"))
    table = TableSpec("Table", "stack-Table", (("id", "HASH"),), (("id", "S"),))
    return LocalApp(stack="stack", api=api, functions={"Echo": echo}, tables=[table])


def test_the_same_app_is_no_change() -> None:
    changes = AppliedChanges.between(_app(), _app())
    assert changes.empty
    assert changes.describe() == "no change"


def test_routes_added_removed_and_changed_are_named() -> None:
    old = _app(routes=("$default", "gone", "kept"))
    new = _app(routes=("$default", "kept", "new"))
    new.api.routes["kept"] = dataclasses.replace(new.api.routes["kept"], return_response=True)
    changes = AppliedChanges.between(old, new)
    assert changes.routes_added == ["new"]
    assert changes.routes_removed == ["gone"]
    assert changes.routes_changed == ["kept"]
    assert changes.describe() == "+route new; -route gone; ~route kept"


def test_functions_by_name_and_the_stage_change_with_the_connections_closed() -> None:
    old, new = _app(), _app(stage="prod")
    new.functions["Other"] = dataclasses.replace(new.functions["Echo"], name="stack-Other")
    del new.functions["Echo"]
    changes = AppliedChanges.between(old, new)
    assert changes.functions_added == ["stack-Other"]
    assert changes.functions_removed == ["stack-Echo"]
    changes.closed = 2
    changes.created = ["stack-Notes"]
    assert changes.describe() == (
        "stage dev removed: 2 connection(s) closed (1001), now serving stage prod; "
        "+function stack-Other; -function stack-Echo; +created in moto stack-Notes"
    )
    assert not changes.empty


def test_other_api_settings_are_listed_by_what_changed() -> None:
    old, new = _app(), _app()
    new = dataclasses.replace(
        new, api=dataclasses.replace(new.api, stage_variables={"mode": "debug"})
    )
    assert AppliedChanges.between(old, new).describe() == "changed: stage variables"


def test_what_could_not_be_applied_is_in_the_line() -> None:
    changes = AppliedChanges.between(_app(), _app())
    changes.errors.append("cannot create tables or resources: boom")
    assert not changes.empty
    assert changes.describe() == "ERROR: cannot create tables or resources: boom"
