"""A registered version that shows itself: a sample image and a short markdown card as its description.

MLflow 3.17's version page renders the description as markdown (showdown, GitHub flavour) and
keeps `<img src>` through its HTML sanitiser, so the card links an image stored with the run and
served by the tracking server's `get-artifact` endpoint. The links are relative ("get-artifact?...",
"#/experiments/..."): they resolve against the UI's own address, behind a proxy prefix too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from mlflow.tracking import MlflowClient

from ganforge.platform.modality.contract import MetricSpec, SampleArtifacts
from ganforge.platform.storage import retry
from ganforge.platform.tracking.store import ML_VIEW
from ganforge.platform.tracking.stream import TrackingTarget

CARD_FOLDER = "model_card"
"""Where in the run's artifacts the version's sample image is kept."""
TEXT_ROWS = 6  # sample rows shown in a card without an image (token sequences)
TEXT_CHARS = 160  # per cell: long sequences are cut, the run's samples.html has them whole
MAX_CHARS = 4500  # MLflow's SQL store keeps up to 5000 characters of a version's description

__all__ = ["CARD_FOLDER", "VersionCard", "artifact_url", "log_card_image", "run_url"]


def artifact_url(run_id: str, path: str) -> str:
    """A relative URL of a run's artifact, as the MLflow UI fetches them (`get-artifact`)."""
    return "get-artifact?" + urlencode({"path": path, "run_uuid": run_id})


def run_url(experiment_id: str, run_id: str) -> str:
    """A relative link to the run's page in the UI's model-training view."""
    return f"#/experiments/{experiment_id}/runs/{run_id}?{ML_VIEW}"


def log_card_image(target: TrackingTarget, samples: SampleArtifacts) -> str | None:
    """Uploads the first of `samples.images` (each modality lists its main picture first: the image
    grid, the spectrogram, the series plot) to the run under CARD_FOLDER; returns its artifact
    path, or None when the modality draws no image (token sequences: the card shows text)."""
    path = next(iter(samples.images.values()), None)
    if path is None:
        return None
    client = MlflowClient(tracking_uri=target.uri)
    retry(
        lambda: client.log_artifact(target.run_id, str(path), CARD_FOLDER), "log the version's sample image"
    )
    return f"{CARD_FOLDER}/{path.name}"


@dataclass(frozen=True)
class VersionCard:
    """What a person choosing a model needs to know about one version, as markdown.

    headline: one sentence on what the model is (which generator, of which job, after how long).
    data: the dataset as configured; fingerprint: its content hash (select compares by it).
    objective: the adversarial step family and its loss and stabilisers.
    metrics: the final values; the card shows those `specs` declare, with the way each improves.
    metric_model: the metric model's tags (`ganforge.metric_version`, ...), empty if none.
    lineage: label -> value (config name, hash, seed, commit), shown in order.
    image: the card image's artifact path in the run; text_samples: (generated, real) rows when
        there is no image.
    """

    headline: str
    run_id: str
    experiment_id: str
    data: str
    fingerprint: str
    objective: str
    metrics: Mapping[str, float]
    specs: Sequence[MetricSpec]
    metric_model: Mapping[str, str] = field(default_factory=dict)
    lineage: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    text_samples: Sequence[tuple[str, str]] = ()

    def markdown(self) -> str:
        parts = [self.headline]
        if self.image is not None:
            parts.append(f"![samples]({artifact_url(self.run_id, self.image)})")
        elif self.text_samples:
            parts.append(_text_table(self.text_samples))
        parts.append(
            "\n".join(
                [
                    f"- **Data**: {self.data}, fingerprint `{self.fingerprint}`",
                    f"- **Objective**: {self.objective}",
                    f"- **Metric model**: {_metric_model(self.metric_model)}",
                    f"- **Lineage**: run [`{self.run_id[:8]}`]({run_url(self.experiment_id, self.run_id)})"
                    + "".join(f", {label} `{value}`" for label, value in self.lineage.items()),
                ]
            )
        )
        if any(spec.name in self.metrics for spec in self.specs):
            parts.append(_metric_table(self.metrics, self.specs))
        text = "\n\n".join(parts) + "\n"
        return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 4] + " ...\n"


def _metric_model(tags: Mapping[str, str]) -> str:
    if not tags:
        return "none (these metrics need no learned model)"
    version = tags.get("ganforge.metric_version", "?")
    sha = tags.get("ganforge.metric_model_sha256", "")[:12]
    return f"version `{version}`, weights sha256 `{sha}`"


def _metric_table(metrics: Mapping[str, float], specs: Sequence[MetricSpec]) -> str:
    """The modality's quality metrics at registration, with the way each improves."""
    rows = ["| metric at registration | value | better |", "|---|---|---|"]
    for spec in specs:
        if spec.name in metrics:
            direction = "higher" if spec.higher_is_better else "lower"
            rows.append(f"| {spec.name} | {metrics[spec.name]:.4g} | {direction} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    text = text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")


def _text_table(rows: Sequence[tuple[str, str]]) -> str:
    lines = ["| generated | real |", "|---|---|"]
    lines += [f"| {_cell(g)} | {_cell(r)} |" for g, r in rows[:TEXT_ROWS]]
    return "\n".join(lines)
