"""`python -m billy_sandbox serve ...`."""

from __future__ import annotations

import click

from billy_sandbox.cli import serve_command


@click.group()
def main() -> None:
    """The Billy API v2 sandbox."""


main.add_command(serve_command)

if __name__ == "__main__":
    main()
