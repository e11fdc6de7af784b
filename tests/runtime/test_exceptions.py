"""The exception tree: one root, AWS codes and statuses where they apply."""

from __future__ import annotations

import pytest

import lambda_runtime
from lambda_runtime import (
    ConfigurationError,
    ConnectionStoreError,
    EventParseError,
    ForbiddenError,
    GoneError,
    InvalidContextError,
    LimitExceededError,
    ManagementApiError,
    PayloadTooLargeError,
    Reject,
    WebSocketRuntimeError,
)


@pytest.mark.parametrize(
    "cls",
    [
        EventParseError,
        ConfigurationError,
        InvalidContextError,
        Reject,
        ConnectionStoreError,
        ManagementApiError,
        GoneError,
        ForbiddenError,
        PayloadTooLargeError,
        LimitExceededError,
    ],
)
def test_every_error_has_the_one_root(cls: type) -> None:
    assert issubclass(cls, WebSocketRuntimeError)
    assert cls.__doc__


@pytest.mark.parametrize(
    ("cls", "code", "status"),
    [
        (GoneError, "GoneException", 410),
        (ForbiddenError, "ForbiddenException", 403),
        (PayloadTooLargeError, "PayloadTooLargeException", 413),
        (LimitExceededError, "LimitExceededException", 429),
    ],
)
def test_management_errors_carry_code_and_status(cls: type, code: str, status: int) -> None:
    error = cls("boom", connection_id="c1=")
    assert issubclass(cls, ManagementApiError)
    assert (error.code, error.status, error.connection_id) == (code, status, "c1=")
    assert str(error) == f"{status} {code} boom (connection c1=)"


def test_event_parse_error_is_a_value_error_naming_the_field() -> None:
    error = EventParseError("requestContext.stage", "expected str")
    assert isinstance(error, ValueError)
    assert error.field == "requestContext.stage"
    assert str(error) == "requestContext.stage: expected str"


def test_tree_in_the_docstring_names_every_exception() -> None:
    doc = lambda_runtime.exceptions.__doc__ or ""
    for name in lambda_runtime.exceptions.__all__:
        assert name in doc


def test_reject_defaults_to_403_forbidden() -> None:
    assert (Reject().status_code, Reject().message) == (403, "Forbidden")
    assert str(Reject(401, "Unauthorized")) == "401 Unauthorized"
    with pytest.raises(TypeError):
        Reject("401")  # type: ignore[arg-type]
