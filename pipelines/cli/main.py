"""`ganforge`: train jobs, run local services, and select, evaluate and generate from the registry.

Pipelines are imported inside the commands so that `--help` and config errors answer at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import click
import yaml

from ganforge.pipelines.cli.auth import prefer_token_auth
from ganforge.pipelines.cli.catalog import modalities
from ganforge.pipelines.cli.errors import set_option, user_errors
from ganforge.pipelines.cli.jobs import jobs, submit
from ganforge.pipelines.cli.models import evaluate, generate, select
from ganforge.pipelines.cli.services import services
from ganforge.pipelines.cli.sweep import sweep
from ganforge.platform.home import ganforge_home


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ganforge")
def cli() -> None:
    """ganforge: distributed multi-modal GAN training on Ray, tracked in MLflow."""
    # The entry point: the one place that sets this process's environment. Pipelines resolve
    # each job's settings from it once and hand them to Ray workers (platform/settings.py).
    prefer_token_auth()  # before any command imports Ray (see pipelines/cli/auth.py)
    # Resolved now: inside a Ray job the working directory can disappear once Ray is running.
    os.environ["GANFORGE_HOME"] = str(ganforge_home())
    # MLflow logs store set-up at INFO ("Creating initial MLflow database tables..."): noise
    # around the CLI's own lines, and it would break the one-line error of a bad input.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # the CLI reports instead
    # Ray Train V2 and Tune print their own status tables; ganforge shows its own progress bar.
    for name in ("RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS", "RAY_AIR_NEW_OUTPUT", "RAY_DEDUP_LOGS"):
        os.environ.setdefault(name, "0")


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option("gan.n_critic=5")
@click.option("--workers", type=int, default=None, help="Data-parallel width (train.workers).")
@click.option(
    "--runner",
    type=click.Choice(["ray", "local"]),
    default=None,
    help="ray: Ray Train workers; local: this process (train.runner).",
)
@click.option(
    "--address",
    default=None,
    metavar="ADDR",
    help="Join this Ray cluster instead of starting a local Ray.",
)
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line: run id, metrics, model.")
@user_errors
def train(
    config: str,
    overrides: tuple[str, ...],
    workers: int | None,
    runner: str | None,
    address: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Train the job in CONFIG and register its EMA generator in MLflow."""
    from ganforge.platform.config import load_job_file, parse_override

    pairs = dict(parse_override(item) for item in overrides)
    if workers is not None:
        pairs["train.workers"] = workers
    if runner is not None:
        pairs["train.runner"] = runner
    job = load_job_file(config, pairs)
    if dry_run:
        click.echo(yaml.safe_dump(job.to_dict(), sort_keys=False), nl=False)
        return

    from ganforge.pipelines.cli.progress import ProgressBar
    from ganforge.pipelines.train import train as train_job
    from ganforge.platform.tracking.store import ui_command

    bar = ProgressBar(job.train.steps, job.name)
    try:
        outcome = train_job(job, address=address, on_progress=bar, changes=pairs)
    finally:
        bar.close()
    _print_summary(outcome, ui_command)
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), sort_keys=True))


def _print_summary(outcome: Any, ui_command: Callable[[str], str]) -> None:
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(outcome.metrics.items()))
    click.echo(f"final metrics: {metrics}")
    if outcome.model_version:
        click.echo(f"registered: models:/{outcome.model_name}/{outcome.model_version}")
    if outcome.tracking_uri:
        click.echo(
            f"MLflow run {outcome.run_id}; to browse it: {ui_command(outcome.tracking_uri, outcome.run_id)}"
        )


for command in (sweep, submit, jobs, services, select, evaluate, generate, modalities):
    cli.add_command(command)

if __name__ == "__main__":
    cli()
