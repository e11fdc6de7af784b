"""One options module: argparse flags, defaults and limits all come from EmulatorOptions."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from cdk_ws_api.local import cli
from cdk_ws_api.local.exceptions import LocalEmulatorError, OptionError
from cdk_ws_api.local.options import EmulatorOptions, add_arguments, option_specs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="local", exit_on_error=False)
    add_arguments(parser)
    return parser


def test_every_field_has_one_flag_and_the_parsed_defaults_are_the_fields_defaults() -> None:
    parser = _parser()
    flags = {a.dest: a.option_strings for a in parser._actions if a.dest != "help"}
    assert set(flags) == {f.name for f in fields(EmulatorOptions)}
    assert flags["worker_idle_timeout"] == ["--worker-idle-timeout"]
    parsed = EmulatorOptions.from_namespace(parser.parse_args([]))
    assert parsed == EmulatorOptions()


def test_flags_parse_into_typed_values() -> None:
    args = _parser().parse_args(
        ["--port", "0", "--idle-timeout", "2.5", "--concurrent-messages", "--stack", "S"]
    )
    options = EmulatorOptions.from_namespace(args)
    assert options.port == 0 and isinstance(options.port, int)
    assert options.limits.idle_timeout == 2.5
    assert options.ordered_messages is False
    assert options.stack == "S"


def test_cli_declares_the_same_flags() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert EmulatorOptions.from_namespace(parser.parse_args([])) == EmulatorOptions()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "must be <= 65535"),
        (["--port", "x"], "expected int"),
        (["--concurrency", "0"], "must be >= 1"),
        (["--idle-timeout", "0"], "must be >= 0.01"),
    ],
)
def test_out_of_range_flags_are_argparse_errors_naming_the_flag(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="local")
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    err = capsys.readouterr().err
    assert f"argument {argv[0]}" in err and message in err


def test_app_and_assembly_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="local")
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--app", "python app.py", "--assembly", "cdk.out"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_programmatic_values_are_checked_with_a_typed_error_naming_the_option() -> None:
    with pytest.raises(OptionError, match=r"concurrency: must be >= 1, got 0"):
        EmulatorOptions(concurrency=0)
    with pytest.raises(OptionError, match=r"port: expected int, got str"):
        EmulatorOptions(port="3001")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"quiet: expected bool"):
        EmulatorOptions(quiet=1)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"unknown option\(s\): prot"):
        EmulatorOptions.from_mapping({"prot": 1})
    assert issubclass(OptionError, LocalEmulatorError)


def test_replace_keeps_the_rest_and_checks_again() -> None:
    base = EmulatorOptions(port=0, quiet=True)
    changed = base.replace(concurrency=4)
    assert (changed.port, changed.quiet, changed.concurrency) == (0, True, 4)
    with pytest.raises(OptionError):
        base.replace(max_duration=-1.0)


def test_worker_idle_timeout_zero_means_never() -> None:
    assert EmulatorOptions(worker_idle_timeout=0).worker_idle_seconds is None
    assert EmulatorOptions(worker_idle_timeout=5).worker_idle_seconds == 5


def test_every_option_has_help() -> None:
    assert all(spec.help for spec in option_specs().values())
