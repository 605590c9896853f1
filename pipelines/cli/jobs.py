"""`ganforge submit` and `ganforge jobs list|status|logs|stop`: jobs on a Ray cluster."""

from __future__ import annotations

import json
import sys

import click

from ganforge.pipelines.cli.errors import set_option, user_errors

ADDRESS = click.option(
    "--address",
    default=None,
    metavar="URL",
    help="Ray job server, e.g. http://HEAD:8265 (default: RAY_API_SERVER_ADDRESS or RAY_ADDRESS).",
)


def _finish(client: object, job_id: str, follow: bool, wait: bool) -> None:
    from ganforge.platform.cluster.jobs import follow_logs, wait_for

    if follow:
        follow_logs(client, job_id, lambda chunk: click.echo(chunk, nl=False))
    if follow or wait:
        status = wait_for(client, job_id)
        click.echo(f"job {job_id}: {status}")
        if status != "SUCCEEDED":
            sys.exit(1)


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option("train.steps=5000")
@ADDRESS
@click.option("--wait", is_flag=True, help="Wait until the job ends; exit 1 unless it succeeded.")
@click.option("--follow", is_flag=True, help="Stream the job's logs until it ends (implies --wait).")
@user_errors
def submit(config: str, overrides: tuple[str, ...], address: str | None, wait: bool, follow: bool) -> None:
    """Run the job or sweep in CONFIG on a Ray cluster (validated here first); prints the job id."""
    from ganforge.pipelines.submit import submit as submit_config
    from ganforge.platform.cluster.jobs import job_client

    submission = submit_config(config, overrides, address)
    click.echo(submission.job_id)
    _finish(job_client(address), submission.job_id, follow, wait)


@click.group()
def jobs() -> None:
    """List, inspect, follow and stop jobs on a Ray cluster."""


@jobs.command("list")
@ADDRESS
@click.option("--json", "as_json", is_flag=True, help="One JSON line per job.")
@user_errors
def list_(address: str | None, as_json: bool) -> None:
    """Every job the cluster knows, oldest first."""
    from ganforge.platform.cluster.jobs import job_client, list_jobs

    for row in list_jobs(job_client(address)):
        click.echo(
            json.dumps(row) if as_json else f"{row['job_id']:<48}{row['status']:<11}{row['entrypoint']}"
        )


@jobs.command()
@click.argument("job_id")
@ADDRESS
@user_errors
def status(job_id: str, address: str | None) -> None:
    """Print JOB_ID's status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED)."""
    from ganforge.platform.cluster.jobs import job_client, job_status

    click.echo(job_status(job_client(address), job_id))


@jobs.command()
@click.argument("job_id")
@ADDRESS
@click.option("--follow", is_flag=True, help="Keep streaming until the job ends.")
@user_errors
def logs(job_id: str, address: str | None, follow: bool) -> None:
    """Print JOB_ID's logs."""
    from ganforge.platform.cluster.jobs import follow_logs, job_client, job_logs

    client = job_client(address)
    if follow:
        follow_logs(client, job_id, lambda chunk: click.echo(chunk, nl=False))
    else:
        click.echo(job_logs(client, job_id), nl=False)


@jobs.command()
@click.argument("job_id")
@ADDRESS
@user_errors
def stop(job_id: str, address: str | None) -> None:
    """Stop JOB_ID."""
    from ganforge.platform.cluster.jobs import job_client, stop_job

    stopped = stop_job(job_client(address), job_id)
    click.echo(f"stop requested for {job_id}" if stopped else f"{job_id} had already ended")
