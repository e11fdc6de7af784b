"""Mapping templates (VTL through airspeed) against the examples of AWS's documentation,
with their documented outputs: the WebSocket API mapping template reference
(apigateway-websocket-api-mapping-template-reference) and the mapping template examples
(api-gateway-mapping-variable-examples)."""

from __future__ import annotations

import json

import pytest

from cdk_ws_api.local.exceptions import VtlError
from cdk_ws_api.local.vtl import InputVariable, RequestParams, escape_javascript, render

CONTEXT = {
    "connectionId": "ABCD1=234",
    "routeKey": "send",
    "eventType": "MESSAGE",
    "messageId": "M1=",
    "requestId": "EFGH=",
    "stage": "prod",
    "domainName": "abcd1234.execute-api.us-east-1.amazonaws.com",
    "apiId": "abcd1234",
    "identity": {"sourceIp": "192.0.2.1", "userAgent": "curl/7.84.0"},
    # the authorizer's context reaches $context.authorizer as strings
    "authorizer": {"principalId": "me", "key": "value", "numKey": "1", "boolKey": "true"},
}
PETS = {
    "pets": [
        {"id": 1, "type": "dog", "price": 249.99},
        {"id": 2, "type": "cat", "price": 124.99},
        {"id": 3, "type": "fish", "price": 0.99},
    ]
}


def _render(
    template: str,
    body: str = "",
    *,
    params: RequestParams | None = None,
    stage_variables: dict[str, str] | None = None,
) -> str:
    return render(
        template,
        input=InputVariable(body, params),
        context=CONTEXT,
        stage_variables=stage_variables,
    )


def test_parse_json_reference_example() -> None:
    # $util.parseJson(): the reference's payload, template and output.
    payload = json.dumps({"errorMessage": '{"key1":"var1","key2":{"arr":[1,2,3]}}'})
    template = (
        "#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))\n"
        "{\n"
        '   "errorMessageObjKey2ArrVal" : $errorMessageObj.key2.arr[0]\n'
        "}\n"
    )
    assert json.loads(_render(template, payload)) == {"errorMessageObjKey2ArrVal": 1}


def test_input_path_count_reference_example() -> None:
    # "$input.path('$.pets').count() would return "3""
    assert _render("$input.path('$.pets').count()", json.dumps(PETS)) == "3"
    assert _render("$input.path('$.pets').size()", json.dumps(PETS)) == "3"


def test_input_json_returns_the_json_string() -> None:
    # "$input.json('$.pets') will return a JSON string representing the pets structure"
    assert json.loads(_render("$input.json('$.pets')", json.dumps(PETS))) == PETS["pets"]
    assert _render("$input.json('$.pets[0].type')", json.dumps(PETS)) == '"dog"'
    assert _render("$input.path('$.pets[1].type')", json.dumps(PETS)) == "cat"


def test_input_body_is_the_raw_payload() -> None:
    assert _render("[$input.body]", "not json {") == "[not json {]"


def test_authorizer_context_values_are_strings() -> None:
    # The reference: $context.authorizer.key → "value", numKey → "1", boolKey → "true".
    template = "$context.authorizer.key $context.authorizer.numKey $context.authorizer.boolKey"
    assert _render(template) == "value 1 true"
    assert _render("$context.authorizer.principalId") == "me"


def test_context_variables_example_1() -> None:
    # Example 1 of the mapping template examples, limited to the WebSocket variables.
    template = (
        '{ "stage" : "$context.stage", "request_id" : "$context.requestId", '
        '"api_id" : "$context.apiId", "source_ip" : "$context.identity.sourceIp", '
        '"user-agent" : "$context.identity.userAgent", "connection" : "$context.connectionId", '
        '"route" : "$context.routeKey", "type" : "$context.eventType", '
        '"message" : "$context.messageId", "domain" : "$context.domainName" }'
    )
    assert json.loads(_render(template)) == {
        "stage": "prod",
        "request_id": "EFGH=",
        "api_id": "abcd1234",
        "source_ip": "192.0.2.1",
        "user-agent": "curl/7.84.0",
        "connection": "ABCD1=234",
        "route": "send",
        "type": "MESSAGE",
        "message": "M1=",
        "domain": "abcd1234.execute-api.us-east-1.amazonaws.com",
    }


def test_all_params_example_2() -> None:
    # Example 2: pass all request parameters through a JSON payload.
    template = """#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}"""
    params = RequestParams(querystring={"name": "me", "q": 'a "b"'}, header={"h1": "v1"})
    assert json.loads(_render(template, params=params)) == {
        "params": {
            "path": {},
            "querystring": {"name": "me", "q": 'a "b"'},
            "header": {"h1": "v1"},
        }
    }


def test_input_params_by_name_searches_path_querystring_then_header() -> None:
    params = RequestParams(querystring={"token": "q"}, header={"Token": "h", "Auth": "a"})
    assert (
        _render("$input.params('token')|$input.params('auth')|[$input.params('x')]", params=params)
        == "q|a|[]"
    )


def test_stage_variables_in_the_three_documented_forms() -> None:
    template = "$stageVariables.mode $stageVariables['mode'] ${stageVariables['mode']}"
    assert _render(template, stage_variables={"mode": "beta"}) == "beta beta beta"


def test_escape_javascript_and_the_documented_single_quote_idiom() -> None:
    # "This function will turn any regular single quotes (') into escaped ones (\\')"
    assert escape_javascript("don't") == "don\\'t"
    assert escape_javascript('a"b\\c/d\n\té') == 'a\\"b\\\\c\\/d\\n\\t\\u00E9'
    # ... and the reference's fix for JSON: .replaceAll("\\\\'","'")
    template = """{"data": "$util.escapeJavaScript($input.body).replaceAll("\\\\'","'")"}"""
    out = _render(template, '{"text":"it\'s"}')
    assert json.loads(json.loads(out)["data"]) == {"text": "it's"}


def test_url_and_base64_utilities() -> None:
    assert _render("$util.urlEncode('a b&c=d~*')") == "a+b%26c%3Dd%7E*"
    assert _render("$util.urlDecode('a+b%26c')") == "a b&c"
    assert _render("$util.base64Encode('hello')") == "aGVsbG8="
    assert _render("$util.base64Decode('aGVsbG8=')") == "hello"


def test_json_values_print_like_java() -> None:
    body = json.dumps({"flag": True, "obj": {"a": 1}, "list": ["x", None]})
    assert _render("$input.path('$.flag') $input.path('$.obj') $input.path('$.list')", body) == (
        "true {a=1} [x, null]"
    )
    assert (
        _render(
            "#if($input.path('$.flag'))yes#end #if($input.path('$.obj').containsKey('a'))a#end",
            body,
        )
        == "yes a"
    )


def test_missing_values() -> None:
    # Decisions: $input.json of nothing is "", $input.path null; Velocity renders a reference
    # to nothing as its own text and $!ref as nothing.
    assert _render("[$input.json('$.nope')][$!input.path('$.nope')][$nothing]", "{}") == (
        "[][][$nothing]"
    )


@pytest.mark.parametrize(
    ("template", "cause"),
    [
        ("#if($input.body", "syntax"),
        ("$input.json('$[')", "JSONPath"),
        ("$util.parseJson('{')", "not JSON"),
    ],
)
def test_errors_raise_vtl_error_naming_the_cause(template: str, cause: str) -> None:
    with pytest.raises(VtlError, match=cause):
        _render(template, "{}")
