"""`ganforge select | evaluate | generate`: working with registered generators."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ganforge.pipelines.cli.errors import set_option, user_errors

TRACKING_URI_OPTION = click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else the local store in GANFORGE_HOME).",
)


def _tracking_uri(option: str | None) -> str:
    from ganforge.platform.config.schema import TrackingConfig
    from ganforge.platform.tracking.store import check_reachable, tracking_uri

    uri = tracking_uri(TrackingConfig(uri=option))
    check_reachable(uri)
    return uri


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


@click.command()
@click.option("--experiment", required=True, help="MLflow experiment whose runs compete.")
@click.option("--metric", required=True, help="Metric to rank by, e.g. fid or modes.")
@click.option(
    "--mode", type=click.Choice(["min", "max"]), required=True, help="Whether lower or higher wins."
)
@click.option("--alias", default="champion", show_default=True, help="Alias to point at the winner.")
@click.option(
    "--filter", "filter_string", default=None, help="MLflow run filter, e.g. \"params.gan.loss = 'hinge'\"."
)
@click.option(
    "--model", default=None, help="Registered model whose versions compete (default: the newest one)."
)
@click.option("--all-models", is_flag=True, help="Rank the versions of every registered model together.")
@click.option("--dry-run", is_flag=True, help="Print the ranking without moving the alias.")
@TRACKING_URI_OPTION
@user_errors
def select(
    experiment: str,
    metric: str,
    mode: str,
    alias: str,
    filter_string: str | None,
    model: str | None,
    all_models: bool,
    dry_run: bool,
    tracking_uri: str | None,
) -> None:
    """Rank the registered generators of EXPERIMENT's finished runs and move the alias to the best.

    Only the versions of one registered model compete (two models may have learned different
    data): --model, else the one registered most recently; the others are named as left out."""
    from ganforge.pipelines.select import select_champion

    if model and all_models:
        raise click.UsageError("--model and --all-models: give one")
    uri = _tracking_uri(tracking_uri)
    alias_or_none = None if dry_run else alias
    ranking = select_champion(uri, experiment, metric, mode, alias_or_none, filter_string, model, all_models)
    ranked = ranking.candidates
    click.echo(f"{'rank':<5}{'model':<28}{'version':<9}{metric:<14}{'run':<34}aliases")
    for rank, c in enumerate(ranked, start=1):
        aliases = ",".join(c.aliases)
        click.echo(f"{rank:<5}{c.model_name:<28}{c.version:<9}{_fmt(c.value):<14}{c.run_id:<34}{aliases}")
    for name, count in sorted(ranking.left_out.items()):
        click.echo(f"left out: {name} ({count} version{'s' * (count != 1)}; --model {name} ranks it)")
    best = ranked[0]
    if dry_run:
        click.echo(f"best: models:/{best.model_name}/{best.version} (alias not moved: --dry-run)")
    else:
        click.echo(f"{alias} -> models:/{best.model_name}/{best.version} ({metric}={_fmt(best.value)})")


@click.command()
@click.argument("model_uri")
@set_option("data.path=/data/points.npy")
@click.option(
    "--tokens",
    "token_file",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="Tokens models: print the per-token NLL of FILE's sequences (text lines or token ids, as the "
    "job's data) instead; records nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of the metrics.")
@TRACKING_URI_OPTION
@user_errors
def evaluate(
    model_uri: str,
    overrides: tuple[str, ...],
    token_file: Path | None,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Recompute MODEL_URI's metrics and record them on its registry version (models:/NAME@ALIAS).

    With --tokens FILE: score a tokens model's NLL on FILE (e.g. a test set) and record nothing."""
    from ganforge.pipelines.evaluate import evaluate_model, score_token_file
    from ganforge.platform.config import parse_override
    from ganforge.platform.errors import ConfigError

    if token_file is not None:
        if overrides:
            raise ConfigError("--tokens scores the model as it was trained; --set does not apply")
        score = score_token_file(model_uri, _tracking_uri(tracking_uri), token_file)
        click.echo(f"{'nll':<24}{score.nll:.6g}")
        click.echo(f"{'sequences':<24}{score.sequences} of {score.seq_len} tokens from {token_file}")
        if as_json:
            click.echo(json.dumps({"nll": score.nll, "sequences": score.sequences, "file": str(token_file)}))
        return
    pairs = dict(parse_override(item) for item in overrides)
    result = evaluate_model(model_uri, _tracking_uri(tracking_uri), pairs)
    for name, value in sorted(result.metrics.items()):
        click.echo(f"{name:<24}{value:.6g}")
    if result.metric_model:
        tags = result.metric_model
        click.echo(
            f"metric model: {tags['ganforge.metric_model']} ({tags['ganforge.metric_version']}, "
            f"weights sha256 {tags['ganforge.metric_model_sha256'][:16]})"
        )
    if result.version:
        click.echo(f"recorded on models:/{result.model_name}/{result.version}")
    if as_json:
        metric_model = {key.removeprefix("ganforge."): value for key, value in result.metric_model.items()}
        click.echo(json.dumps({**result.metrics, **metric_model}, sort_keys=True))


@click.command()
@click.argument("model_uri")
@click.option(
    "-n", "count", type=click.IntRange(min=1), default=64, show_default=True, help="Number of samples."
)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent draw.")
@click.option(
    "--truncation",
    type=float,
    default=None,
    help="Image models: redraw latent entries beyond this many sd (lower: cleaner, less varied); "
    "replaces the model's model.truncation for this draw.",
)
@TRACKING_URI_OPTION
@user_errors
def generate(
    model_uri: str, count: int, out_dir: Path, seed: int, truncation: float | None, tracking_uri: str | None
) -> None:
    """Write COUNT samples from MODEL_URI (e.g. models:/NAME@champion) in the modality's format."""
    from ganforge.pipelines.generate import generate_samples

    files = generate_samples(model_uri, _tracking_uri(tracking_uri), count, out_dir, seed, truncation)
    click.echo(f"wrote {len(files)} file(s) to {out_dir}")
