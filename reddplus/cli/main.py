"""Entry point of the ``reddplus`` command.

Sub-commands live in their own modules and are imported lazily (fast ``--help``,
and a broken optional dependency in one sub-command cannot break the others).
"""

from __future__ import annotations

import importlib

import click

from reddplus import __version__
from reddplus.cli.options import CliError, InterruptedCli, configure_logging, signals_handled
from reddplus.errors import ReddplusError, RunInterrupted

#: command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "stocks": "reddplus.cli.stocks:stocks",
    "accuracy": "reddplus.cli.accuracy:accuracy",
    "activity": "reddplus.cli.activity:activity",
    "risk": "reddplus.cli.risk:risk",
    "counterfactual": "reddplus.cli.counterfactual:counterfactual",
    "registry": "reddplus.cli.registry:registry",
    "ccb": "reddplus.cli.ccb:ccb",
    "check": "reddplus.cli.check:check",
    "run": "reddplus.cli.chain:run",
    "demo": "reddplus.cli.chain:demo",
    "init": "reddplus.cli.init:init",
    "config-reference": "reddplus.cli.init:config_reference",
    "view": "reddplus.cli.view:view",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context):
        with signals_handled():       # SIGTERM like Ctrl-C; no publish after either
            try:
                return super().invoke(ctx)
            except ReddplusError as err:  # boundary: library error -> exit code
                raise CliError(err) from err
            except RunInterrupted as err:  # -> 130 / 143, never click's "Aborted!" with 1
                raise InterruptedCli(err) from err


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="reddplus")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress bars.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """reddplus: REDD+ avoided-deforestation projects, from field plots to retired credits."""
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    configure_logging(-1 if quiet else verbose)
