"""The run's best evaluation so far: its record, its run tags and its kept checkpoint.

One approach for every runner: the chief compares each evaluation with the best so far (by the
job's ranking metric, `Modality.ranking_spec`); an improvement tags the run and, with
`train.keep_best`, copies that step's checkpoint to the runner's `best_dir`, a folder (or s3://
prefix) beside the run's checkpoints. Ray's `CheckpointConfig(checkpoint_score_attribute)` would
keep the best k *instead of* the last k and needs the metric on every report; this keeps both.

The record travels inside every checkpoint (`best.json`), so a resumed run (local `resume_from`,
a Ray Train restart, a Tune trial or PBT exploit) goes on comparing against it.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ganforge.platform.modality import MetricSpec

RECORD_FILE = "best.json"
BEST_STEP_TAG = "ganforge.best_step"
BEST_CHECKPOINT_TAG = "ganforge.best_checkpoint"
BEST_METRIC_TAG_PREFIX = "ganforge.best."


@dataclass(frozen=True)
class BestRecord:
    """The best evaluation so far: `metric` was `value` at `step`."""

    metric: str
    value: float
    step: int

    def tags(self) -> dict[str, str]:
        """The run tags that point a reader of the MLflow run at its best step."""
        return {BEST_STEP_TAG: str(self.step), f"{BEST_METRIC_TAG_PREFIX}{self.metric}": f"{self.value:.6g}"}


def improved(
    best: BestRecord | None, spec: MetricSpec, values: dict[str, float], step: int
) -> BestRecord | None:
    """The new record when `values` beat `best` on `spec` (the first finite value always does);
    None when they do not, or do not hold the metric (e.g. audio without labels reports none)."""
    value = values.get(spec.name)
    if value is None or not math.isfinite(value):
        return None
    if best is not None:
        better = value > best.value if spec.higher_is_better else value < best.value
        if not better:  # a tie keeps the earlier step
            return None
    return BestRecord(spec.name, float(value), step)


def write_record(directory: Path, record: BestRecord) -> None:
    (directory / RECORD_FILE).write_text(json.dumps(asdict(record)))


def read_record(directory: Path, metric: str) -> BestRecord | None:
    """The record a checkpoint carries, if it ranks by `metric` (another metric: start afresh)."""
    path = directory / RECORD_FILE
    if not path.exists():
        return None
    record = BestRecord(**json.loads(path.read_text()))
    return record if record.metric == metric else None


def publish(source: Path, destination: str, s3_endpoint_url: str | None = None) -> None:
    """Replaces `destination` (a folder, or an s3:// prefix) with a copy of `source`.

    A local folder is copied under a hidden name and renamed, so `destination` holds either the
    previous best or the new one, whole. On S3 the old objects are deleted and the new uploaded.
    """
    if destination.startswith("s3://"):
        import pyarrow.fs

        from ganforge.platform.storage.s3 import arrow_storage

        path, filesystem = arrow_storage(destination, s3_endpoint_url)
        filesystem.delete_dir_contents(path, missing_dir_ok=True)
        pyarrow.fs.copy_files(str(source), path, destination_filesystem=filesystem)
        return
    target = Path(destination)
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by a run killed mid-copy
    shutil.copytree(source, partial)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
