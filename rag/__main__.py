"""``python -m rag``: search, ask, evaluate, manage users and sharing from the terminal."""

from __future__ import annotations

import argparse
import sys

from rag import cli_answer, cli_eval, cli_users


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns the exit code (2: a usage or store error)."""
    parser = argparse.ArgumentParser(prog="python -m rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cli_answer.add_commands(sub)
    cli_eval.add_commands(sub)
    cli_users.add_commands(sub)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
