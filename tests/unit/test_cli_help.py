"""Every command and every option of the CLI, at any depth, has help text, and `--help` works."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from computewatch.app.cli import main


def walk(
    cmd: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(main))


def test_the_expected_commands_exist() -> None:
    names = {path[-1] for path, _ in COMMANDS if path}
    expected = {"audit", "daemon", "demo", "findings", "outbox", "schema", "status", "validate"}
    assert expected | {"verify"} <= names


@pytest.mark.parametrize(
    ("path", "cmd"), COMMANDS, ids=[" ".join(p) or "main" for p, _ in COMMANDS]
)
def test_every_command_and_option_has_help(path: tuple[str, ...], cmd: click.Command) -> None:
    name = " ".join(("computewatch", *path))
    assert cmd.help and len(cmd.help.strip()) > 20, f"{name} has no help text"
    ctx = click.Context(cmd)
    for param in cmd.get_params(ctx):  # with --help and the like
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"{name} {'/'.join(param.opts)} has no help"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
