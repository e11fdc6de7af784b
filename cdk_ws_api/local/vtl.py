"""API Gateway mapping templates: Velocity (VTL) through ``airspeed`` with API Gateway's
variables (pure: no I/O).

:func:`render` evaluates one template with

- ``$input``: ``body`` (the raw payload), ``json(path)`` (the JSONPath result as a JSON
  string), ``path(path)`` (the result as an object the template can navigate), ``params()``
  (``{"path", "querystring", "header"}``) and ``params(name)`` (path, then query string,
  then header; ``""`` when absent);
- ``$context``: the event's ``requestContext`` (connectionId, routeKey, requestId,
  eventType, messageId, authorizer.*, identity.*, stage, domainName, apiId, ...);
- ``$util``: ``escapeJavaScript``, ``parseJson``, ``urlEncode``, ``urlDecode``,
  ``base64Encode``, ``base64Decode``;
- ``$stageVariables``.

Why these libraries: ``airspeed`` is a real Velocity engine (directives, macros, ``#set``,
``#foreach``, ``#if``) rather than a hand-made subset; JSONPath (``$input.json('$.a.b[0]')``)
is ``jsonpath-ng``, which the moto server already depends on. What is written here is only
the Java flavour API Gateway's Java engine gives values: JSON objects and arrays answer Java's
``Map``/``List`` methods (``size()``, ``containsKey()``, ``keySet()``, ``isEmpty()``, ``get()``,
and ``count()`` as the AWS reference uses it), booleans print ``true``/``false``, maps print
``{a=1}``, and ``escapeJavaScript`` follows Apache commons-lang's rules (``'`` → ``\\'``,
non-ASCII → ``\\uXXXX``), as AWS documents.

Decisions where AWS leaves it open: ``$input.json`` of a path that matches nothing is ``""``
and ``$input.path`` is ``null``; a reference to nothing renders as its own text (Velocity's
rule; ``$!ref`` renders nothing). Any syntax or evaluation error raises :class:`VtlError`
(the gateway answers ``Internal server error`` and logs the cause).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed
from jsonpath_ng.ext import parse as parse_jsonpath

from .exceptions import VtlError

__all__ = [
    "InputVariable",
    "RequestParams",
    "Util",
    "java_value",
    "render",
]


class JavaBool:
    """A JSON boolean as Velocity shows it: ``true``/``false``, truthy as the value."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JavaBool):
            return self.value == other.value
        return isinstance(other, bool) and self.value == other

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return "true" if self.value else "false"

    __repr__ = __str__

    def toString(self) -> str:
        return str(self)


def _java_str(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class JavaMap(dict[str, Any]):
    """A JSON object with the ``java.util.Map`` methods templates call."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def containsKey(self, key: Any) -> bool:
        return key in self

    def containsValue(self, value: Any) -> bool:
        return value in self.values()

    def keySet(self) -> list[str]:
        return JavaList(self.keys())

    def entrySet(self) -> list[Any]:
        return JavaList(JavaMap(key=k, value=v) for k, v in self.items())

    def put(self, key: str, value: Any) -> Any:
        previous = self.get(key)
        self[key] = value
        return previous

    def putAll(self, values: Mapping[str, Any]) -> None:
        self.update(values)

    def toString(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k}={_java_str(v)}" for k, v in self.items()) + "}"


class JavaList(list[Any]):
    """A JSON array with the ``java.util.List`` methods templates call."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)

    def size(self) -> int:
        return len(self)

    count = size  # the AWS reference's example: $input.path('$.pets').count()

    def isEmpty(self) -> bool:
        return not self

    def contains(self, value: Any) -> bool:
        return value in self

    def get(self, index: int) -> Any:
        return self[index]

    def add(self, value: Any) -> bool:
        self.append(value)
        return True

    def toString(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return "[" + ", ".join(_java_str(v) for v in self) + "]"


def java_value(value: Any) -> Any:
    """``value`` (parsed JSON) with Java-flavoured maps, lists and booleans."""
    if isinstance(value, bool):
        return JavaBool(value)
    if isinstance(value, dict):
        return JavaMap((str(k), java_value(v)) for k, v in value.items())
    if isinstance(value, list):
        return JavaList(java_value(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    # The reverse of java_value, for json.dumps.
    if isinstance(value, JavaBool):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@functools.lru_cache(maxsize=256)
def _compiled_path(path: str) -> Any:
    try:
        return parse_jsonpath(path)
    except Exception as exc:  # jsonpath-ng raises JsonPathParserError and plain Exceptions
        raise VtlError(f"invalid JSONPath {path!r}: {exc}") from exc


def _select(document: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` of JSONPath ``path`` in ``document``: one match is the value, more
    are a list (as Jayway's JsonPath returns them)."""
    if path.strip() in ("$", ""):
        return True, document
    matches = [match.value for match in _compiled_path(path).find(document)]
    if not matches:
        return False, None
    return True, matches[0] if len(matches) == 1 else matches


class RequestParams:
    """The request parameters a template sees: ``path`` (always empty on WebSocket APIs),
    ``querystring`` and ``header`` (the handshake's, on ``$connect``)."""

    def __init__(
        self, *, querystring: Mapping[str, str] | None = None, header: Mapping[str, str] | None
    ) -> None:
        self.path: dict[str, str] = {}
        self.querystring = dict(querystring or {})
        self.header = dict(header or {})

    def lookup(self, name: str) -> str:
        for source in (self.path, self.querystring, self.header):
            if name in source:
                return source[name]
        lowered = name.lower()
        for header, value in self.header.items():
            if header.lower() == lowered:
                return value
        return ""


class InputVariable:
    """``$input`` over one payload (``body`` is the raw text)."""

    def __init__(self, body: str, params: RequestParams | None = None) -> None:
        self.body = body
        self._params = params or RequestParams(header=None)
        self._parsed: tuple[bool, Any] | None = None

    def _document(self) -> Any:
        if self._parsed is None:
            try:
                self._parsed = (True, json.loads(self.body)) if self.body else (False, None)
            except ValueError:
                self._parsed = (False, None)
        ok, document = self._parsed
        return document if ok else None

    def json(self, path: str = "$") -> str:
        found, value = _select(self._document(), str(path))
        if not found:
            return ""
        return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)

    def path(self, path: str = "$") -> Any:
        found, value = _select(self._document(), str(path))
        return java_value(value) if found else None

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return JavaMap(
                path=JavaMap(self._params.path),
                querystring=JavaMap(self._params.querystring),
                header=JavaMap(self._params.header),
            )
        return self._params.lookup(str(name))


def escape_javascript(text: Any) -> str:
    """Apache commons-lang ``StringEscapeUtils.escapeJavaScript``, which API Gateway uses."""
    out: list[str] = []
    for char in "" if text is None else str(text):
        code = ord(char)
        if code > 0x7F:
            if code > 0xFFFF:  # a surrogate pair in Java's UTF-16
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
            else:
                out.append(f"\\u{code:04X}")
        elif code < 32:
            special = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}
            out.append(special.get(char, f"\\u{code:04X}"))
        elif char in "'\"\\/":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


class Util:
    """``$util``."""

    @staticmethod
    def escapeJavaScript(text: Any) -> str:
        return escape_javascript(text)

    @staticmethod
    def parseJson(text: Any) -> Any:
        try:
            return java_value(json.loads(str(text)))
        except ValueError as exc:
            raise VtlError(f"$util.parseJson: not JSON: {exc}") from exc

    @staticmethod
    def urlEncode(text: Any) -> str:
        # java.net.URLEncoder: '*' is kept and '~' encoded, unlike Python's default.
        return quote_plus(str(text), safe="*").replace("~", "%7E")

    @staticmethod
    def urlDecode(text: Any) -> str:
        return unquote_plus(str(text))

    @staticmethod
    def base64Encode(text: Any) -> str:
        data = text if isinstance(text, bytes) else str(text).encode()
        return base64.b64encode(data).decode()

    @staticmethod
    def base64Decode(text: Any) -> str:
        try:
            return base64.b64decode(str(text), validate=False).decode(errors="replace")
        except (binascii.Error, ValueError) as exc:
            raise VtlError(f"$util.base64Decode: {exc}") from exc


_UTIL = Util()


def _java_string_literals() -> None:
    """Make airspeed keep backslashes in string literals, as Java's Velocity 1.7 does.

    airspeed turns ``"\\\\'"`` into ``\\'``; Velocity keeps both backslashes, and AWS's
    documented idiom ``$util.escapeJavaScript($x).replaceAll("\\\\'", "'")`` relies on it
    (the regex ``\\\\'`` matches the ``\\'`` that escapeJavaScript writes). The one place
    airspeed's internals are touched: the two literal classes' unescape pattern, set to match
    nothing (tested by the AWS example in tests/local/test_vtl.py)."""
    never = re.compile(r"(?!)")
    for literal in (airspeed.StringLiteral, airspeed.InterpolatedStringLiteral):
        literal.ESCAPED_CHAR = never


_java_string_literals()


@functools.lru_cache(maxsize=512)
def _compiled(template: str) -> airspeed.Template:
    compiled = airspeed.Template(template)
    try:
        compiled.ensure_compiled()
    except airspeed.TemplateError as exc:
        raise VtlError(f"template syntax error: {exc}") from exc
    return compiled


def render(
    template: str,
    *,
    input: InputVariable,
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str] | None = None,
) -> str:
    """Evaluate ``template``; raises :class:`VtlError` on a syntax or evaluation error."""
    compiled = _compiled(template)
    namespace = {
        "input": input,
        "context": java_value(dict(context)),
        "util": _UTIL,
        "stageVariables": JavaMap(stage_variables or {}),
    }
    try:
        return str(compiled.merge(namespace))
    except VtlError:
        raise
    except Exception as exc:  # airspeed raises TemplateExecutionError and whatever a call raised
        raise VtlError(f"template evaluation failed: {exc}") from exc
