"""`ganforge sweep`: a Ray Tune sweep from a YAML sweep file."""

from __future__ import annotations

import json

import click
import yaml

from ganforge.pipelines.cli.errors import set_option, user_errors


@click.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@set_option("num_samples=4")
@click.option(
    "--resume",
    is_flag=True,
    help="Resume the latest interrupted sweep of this name; finished trials are kept.",
)
@click.option(
    "--address", default=None, metavar="ADDR", help="Join this Ray cluster instead of starting a local Ray."
)
@click.option("--dry-run", is_flag=True, help="Validate, print the resolved sweep and base job, and exit.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line: trials, best, model.")
@user_errors
def sweep(
    sweep_file: str,
    overrides: tuple[str, ...],
    resume: bool,
    address: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Sweep the hyperparameters in SWEEP_FILE with Ray Tune; register the best trial's generator."""
    from ganforge.pipelines.sweep import load_sweep_file

    loaded = load_sweep_file(sweep_file, overrides)
    if dry_run:
        resolved = {"sweep": loaded.sweep.model_dump(mode="json"), "base_job": loaded.job.to_dict()}
        click.echo(yaml.safe_dump(resolved, sort_keys=False), nl=False)
        return
    from ganforge.pipelines.sweep import run_sweep
    from ganforge.platform.tracking.store import ui_command

    outcome = run_sweep(loaded, resume=resume, address=address)
    metric = outcome.metric
    click.echo(f"{'trial':<14}{metric:<12}{'step':<8}outcome")
    for trial in outcome.trials:
        value = "-" if trial.value is None else f"{trial.value:.4g}"
        click.echo(f"{trial.trial_id:<14}{value:<12}{trial.step:<8}{trial.outcome}")
    if outcome.best is not None:
        click.echo(
            f"best: trial {outcome.best.trial_id} {metric}={outcome.best.value:.4g} {outcome.best.params}"
        )
    if outcome.model_version:
        click.echo(f"registered: models:/{outcome.model_name}/{outcome.model_version}")
    if outcome.parent_run_id:
        browse = ui_command(outcome.tracking_uri, outcome.parent_run_id)
        click.echo(f"MLflow parent run {outcome.parent_run_id}; to browse it: {browse}")
    click.echo(f"Ray Tune results: {outcome.path}")
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), sort_keys=True, default=str))
