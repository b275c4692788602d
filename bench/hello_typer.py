"""The start-up baseline: a bare Typer app with a --version callback and one command, nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(name="hello", help="A bare Typer hello-world.", no_args_is_help=True, add_completion=False)


@app.callback(invoke_without_command=True)
def root(version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False) -> None:
    if version:
        typer.echo("hello 0.0.0")
        raise typer.Exit()


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


if __name__ == "__main__":
    app()
