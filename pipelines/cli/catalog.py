"""`ganforge modalities`: the registered modalities, their objectives and shipped configs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ganforge.pipelines.cli.errors import user_errors


@click.command()
@click.option(
    "--configs",
    "configs_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of job configs, one sub-folder per modality (default: ./configs, else the repository's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@user_errors
def modalities(configs_root: Path | None, as_json: bool) -> None:
    """List the modalities ganforge can train, their objectives and the shipped job configs."""
    from ganforge.pipelines.catalog import list_modalities

    entries = list_modalities(configs_root)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    for entry in entries:
        click.echo(f"{entry.name}")
        for objective in entry.objectives:
            click.echo(f"  objective {objective.name}: honours gan.{', gan.'.join(objective.gan_options)}")
        click.echo(f"  metrics: {', '.join(entry.metrics)}")
        for path, objective_name in entry.configs.items():
            click.echo(f"  config {path}  ({objective_name})")
