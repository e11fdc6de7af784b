"""The CLI says what to install when the ``local`` extra is missing, before starting anything."""

from __future__ import annotations

import pytest

from cdk_ws_api.local.cli import LOCAL_EXTRA, check_dependencies
from cdk_ws_api.local.exceptions import LocalEmulatorError, MissingDependencyError


def test_installed_extra_passes() -> None:
    check_dependencies(LOCAL_EXTRA)


def test_missing_package_is_named_with_the_install_command() -> None:
    with pytest.raises(MissingDependencyError) as info:
        check_dependencies(("websockets", "cdk_ws_api_no_such_package"))
    message = str(info.value)
    assert "cdk_ws_api_no_such_package" in message
    assert "websockets" not in message.split(":")[0]
    assert "pip install 'cdk-ws-api[local]'" in message
    assert isinstance(info.value, LocalEmulatorError)  # the CLI prints it without a traceback
