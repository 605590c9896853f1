"""`ganforge services up|status|down`: the local S3 endpoint and MLflow server."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from ganforge.pipelines.cli.errors import user_errors


@click.group()
def services() -> None:
    """Start, check and stop a local S3 endpoint and an MLflow server (loopback only)."""


@services.command()
@click.option(
    "--s3-port", type=int, default=None, help="Port of the local S3 endpoint (default: a free one)."
)
@click.option(
    "--mlflow-port", type=int, default=None, help="Port of the MLflow server (default: a free one)."
)
@click.option(
    "--backend-store-uri",
    default=None,
    metavar="URI",
    help="MLflow backend: any SQLAlchemy URI, e.g. postgresql://... (default: SQLite in GANFORGE_HOME).",
)
@click.option(
    "--artifacts-destination",
    default="s3://ganforge/mlflow",
    show_default=True,
    metavar="S3_URI",
    help="Where the server stores artifacts; clients reach them through the server.",
)
@click.option(
    "--s3-endpoint",
    default=None,
    metavar="URL",
    help="Use this S3 (MinIO, AWS) instead of starting one; credentials from AWS_* variables.",
)
@click.option(
    "--s3",
    "s3_kind",
    type=click.Choice(["disk", "memory"]),
    default="disk",
    show_default=True,
    help="The local endpoint keeps objects on disk under GANFORGE_HOME/services/s3 (kept across "
    "down/up), or in memory (lost when it stops; for throwaway setups).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the state as one JSON line.")
@user_errors
def up(
    s3_port: int | None,
    mlflow_port: int | None,
    backend_store_uri: str | None,
    artifacts_destination: str,
    s3_endpoint: str | None,
    s3_kind: str,
    as_json: bool,
) -> None:
    """Start the services (or report the running ones: `up` is idempotent)."""
    from ganforge.platform.services.stack import ServicesOptions, data_rows
    from ganforge.platform.services.stack import up as start

    options = ServicesOptions(
        s3_port, mlflow_port, backend_store_uri, artifacts_destination, s3_endpoint, s3_kind
    )
    state, started = start(options)
    if as_json:
        click.echo(json.dumps(asdict(state)))
        return
    click.echo("started" if started else "already running")
    click.echo(f"  S3 endpoint    {state.s3_endpoint}")
    click.echo(f"  MLflow server  {state.tracking_uri}  (artifacts: {state.artifacts_destination}, proxied)")
    objects, registry = (where for _, where in data_rows(state))
    click.echo(f"  objects        {objects}")
    click.echo(f"  registry       {registry}")
    click.echo(f"export MLFLOW_TRACKING_URI={state.tracking_uri}")


@services.command()
@user_errors
def status() -> None:
    """Show each service, whether it answers its health check (exit 1 if any does not) and
    where its data lives."""
    from ganforge.platform.services.stack import data_rows, read_state, status_rows

    state = read_state()
    if state is None:
        click.echo("no services started (run: ganforge services up)")
        sys.exit(1)
    rows = status_rows(state)
    for row in rows:
        click.echo(f"{row.name:<7} pid {row.pid:<9} {row.address:<28} {_CONDITIONS[row.condition]}")
    for name, where in data_rows(state):
        click.echo(f"{name:<7} data {where}")
    if not all(row.healthy for row in rows):
        sys.exit(1)


_CONDITIONS = {
    "healthy": "healthy",
    "not responding": "NOT RESPONDING (the process runs, its address does not answer)",
    "restarted": "RESTARTED (that pid is gone; another process answers, one `services down` cannot stop)",
    "dead": "DEAD (that pid is gone and nothing answers: `services up`)",
}


@services.command()
@user_errors
def down() -> None:
    """Stop the services that `up` started."""
    from ganforge.platform.services.stack import down as stop_all

    click.echo("stopped" if stop_all() else "no services were running")
