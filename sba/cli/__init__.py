"""The ``sba`` command line: :func:`main` parses the arguments and runs one command.

:mod:`sba.cli.command` builds the parser and turns every error into one sentence
and an exit code; :mod:`sba.cli.args` holds what every command shares; each
command has its own module (``estimate``, ``measure``, ``reassess``, ``rates``,
``requests``) with its ``register`` (its arguments) and its ``cmd_*`` (its run).
"""

from sba.cli.args import rate_schedule
from sba.cli.command import build_parser, main, run

__all__ = ["build_parser", "main", "rate_schedule", "run"]

