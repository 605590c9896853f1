"""The experiment's saved view in the MLflow UI: ranking-metric columns, best run first, quality curves.

MLflow 3.17's runs page has no experiment-wide default for its columns: a fresh browser shows
`Source`, `Models` and `Dataset` (the UI's JavaScript, `selectedColumns` in main.js's module
1395) and keeps the user's own choice in the browser's local storage. What the UI does read from
the tracking store is a *saved view*: an experiment tag `mlflow.sharedViewState.<id>` holding
`{"name", "createdAt", "updatedAt", "state"}`, where `state` is the runs page's JSON state
(search facets: sort, filter; UI state: `selectedColumns`, `compareRunCharts`,
`compareRunSections`, ...). The "Views" menu of the runs page lists every such tag, and a URL with
`?viewStateShareKey=<id>` opens one (chunk 5439, `mlflow.experiment_page.saved_views`;
MLflow's own `mlflow/demo/generators/saved_views.py` seeds views the same way).

ganforge keeps one view per experiment, `ganforge`: the ranking metric (best run first) and the
modality's other metrics, the best step and what each run changed as columns; in the charts, the
newest samples without the wall of parameter text MLflow prints above each image by default
(the image card's `showRunParams`, which the logging API cannot set), then the quality curves.
Every run adds what it brings (its changed keys, its image keys) and removes nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mlflow.tracking import MlflowClient

log = logging.getLogger("ganforge.tracking")

VIEW_ID = "ganforge"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_ID}"
VIEW_QUERY = f"viewStateShareKey={VIEW_ID}"
"""Opens the view: add it to a runs page URL (`#/experiments/<id>/runs?...`)."""
PRIMARY_METRIC_TAG = "mlflow.experiment.primaryMetric.name"
"""MLflow's own experiment tag for the metric that matters (its charts view always charts it)."""
PRIMARY_GREATER_TAG = "mlflow.experiment.primaryMetric.greaterIsBetter"
MAX_METRICS = 6
MAX_TAG_COLUMNS = 12
_TAG_LIMIT = 20000  # MLflow's MAX_EXPERIMENT_TAG_VAL_LENGTH
_OWN_KEY = "ganforge"  # ganforge's own record inside the state; the UI ignores keys it does not know

LATEST = "latest"
QUALITY = "quality"
HISTORY = "samples by step"
MODEL_METRICS = "Model metrics"  # the section names MLflow files the remaining metrics under
SYSTEM_METRICS = "System metrics"


@dataclass(frozen=True)
class RunsView:
    """What the `ganforge` view shows; `merged` unions two of them, so views only grow."""

    ranking: str
    higher_is_better: bool
    metrics: tuple[str, ...] = ()
    """the modality's other metrics, in its order (the ranking metric is always first)"""
    tags: tuple[str, ...] = ()
    """run tags shown as columns (best step, what each run changed)"""
    images: tuple[str, ...] = ()
    """image keys the runs log (`samples`); `latest/<key>` is shown, `<key>` in a closed section"""
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def merged(self, older: RunsView | None) -> RunsView:
        """This view's ranking, with what `older` showed kept (and its creation time)."""
        if older is None:
            return self
        metrics = _union(older.metrics, (older.ranking,), self.metrics)
        return replace(
            self,
            metrics=tuple(name for name in metrics if name != self.ranking),
            tags=_union(older.tags, self.tags),
            images=_union(older.images, self.images),
            created_ms=older.created_ms,
        )

    def columns(self) -> list[str]:
        """The runs table's columns, as MLflow's canonical keys (`metrics.\\`quality\\``)."""
        metrics = _union((self.ranking,), self.metrics)[:MAX_METRICS]
        return [
            "attributes.`Models`",
            *(f"metrics.`{name}`" for name in metrics),
            *(f"tags.`{name}`" for name in self.tags[:MAX_TAG_COLUMNS]),
        ]

    def state(self) -> dict[str, Any]:
        """The runs page state MLflow restores when the view is opened."""
        charts, sections = self._charts()
        return {
            "orderByKey": f"metrics.`{self.ranking}`",
            "orderByAsc": not self.higher_is_better,  # best first
            "searchFilter": "",
            "selectedColumns": self.columns(),
            # The table's own column ids: the ranking metric leads the metrics, before the tags
            # and the registered model (the run name and creation time stay pinned on the left).
            "columnOrder": ["duration", *self.columns()[1:], self.columns()[0]],
            "compareRunCharts": charts,
            "compareRunSections": sections,
            "isAccordionReordered": True,  # keep the sections in this order
            _OWN_KEY: {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()},
        }

    def _charts(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Cards for the newest samples, the quality curves and the samples by step; MLflow adds
        every other metric it finds to `Model metrics` (or a section named by its prefix)."""
        names = (LATEST, QUALITY, HISTORY, MODEL_METRICS, SYSTEM_METRICS)
        sections = [_section(name, display=name != HISTORY) for name in names]
        charts = [_image_card(f"{LATEST}/{key}", LATEST) for key in self.images]
        charts += [_line_card(name, QUALITY) for name in _union((self.ranking,), self.metrics)]
        charts += [_image_card(key, HISTORY) for key in self.images]
        return charts, sections

    def tag_value(self, updated_ms: int | None = None) -> str:
        """The experiment tag's value: the saved-view envelope MLflow's Views menu reads."""
        state = json.dumps(self.state(), separators=(",", ":"))
        envelope = {
            "name": f"ganforge: best {self.ranking} first",
            "createdAt": self.created_ms,
            "updatedAt": updated_ms or int(time.time() * 1000),
            "state": state,
        }
        value = json.dumps(envelope, separators=(",", ":"))
        if len(value) > _TAG_LIMIT:  # the UI inflates `deflate;<base64 zlib>` states too
            envelope["state"] = "deflate;" + base64.b64encode(zlib.compress(state.encode())).decode()
            value = json.dumps(envelope, separators=(",", ":"))
        return value


def read_view(experiment_tags: dict[str, str]) -> RunsView | None:
    """The `ganforge` view an experiment holds, or None (none yet, or not one ganforge wrote)."""
    own = _stored_state(experiment_tags).get(_OWN_KEY)
    try:
        return RunsView(
            ranking=own["ranking"],
            higher_is_better=bool(own["higher_is_better"]),
            metrics=tuple(own["metrics"]),
            tags=tuple(own["tags"]),
            images=tuple(own["images"]),
            created_ms=int(own["created_ms"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _stored_state(experiment_tags: dict[str, str]) -> dict[str, Any]:
    """The state of the `ganforge` view as stored ({} when there is none, or it is unreadable)."""
    try:
        state = json.loads(experiment_tags[VIEW_TAG])["state"]
        if state.startswith("deflate;"):
            state = zlib.decompress(base64.b64decode(state.removeprefix("deflate;"))).decode()
        found = json.loads(state)
    except (KeyError, TypeError, ValueError, AttributeError, zlib.error):
        return {}
    return found if isinstance(found, dict) else {}


def update_view(client: MlflowClient, experiment_id: str, view: RunsView) -> None:
    """Writes `view`, merged with the one the experiment holds, and MLflow's primary-metric tags;
    writes nothing when they already say so (a view written by an older ganforge is rewritten)."""
    tags = client.get_experiment(experiment_id).tags
    merged = view.merged(read_view(tags))
    wanted = {PRIMARY_METRIC_TAG: view.ranking, PRIMARY_GREATER_TAG: str(view.higher_is_better)}
    for key, value in wanted.items():
        if tags.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)
    if merged.state() != _stored_state(tags):
        client.set_experiment_tag(experiment_id, VIEW_TAG, merged.tag_value())


def add_images(client: MlflowClient, run_id: str, keys: list[str]) -> None:
    """Adds image keys a run logs to its experiment's view (when ganforge wrote one)."""
    experiment_id = client.get_run(run_id).info.experiment_id
    older = read_view(client.get_experiment(experiment_id).tags)
    if older is None or set(keys) <= set(older.images):
        return
    update_view(client, experiment_id, replace(older, images=tuple(keys)))


def _union(*parts: tuple[str, ...]) -> tuple[str, ...]:
    """The names of `parts`, each once, in order of first appearance."""
    return tuple(dict.fromkeys(name for part in parts for name in part))


def _id(kind: str, name: str) -> str:
    return f"ganforge-{kind}-{name}".replace("/", "-").replace(" ", "-")


def _section(name: str, display: bool) -> dict[str, Any]:
    return {"uuid": _id("section", name), "name": name, "display": display, "isReordered": False}


def _card(kind: str, key: str, section: str) -> dict[str, Any]:
    return {
        "uuid": _id(kind.lower(), f"{section}-{key}"),
        "type": kind,
        "runsCountToCompare": 10,
        "metricSectionId": _id("section", section),
        "deleted": False,
        "isGenerated": True,
    }


def _image_card(key: str, section: str) -> dict[str, Any]:
    # showRunParams: MLflow's default (true) prints every param of the run above its image.
    return {**_card("IMAGE", key, section), "imageKeys": [key], "step": 0, "showRunParams": False}


def _line_card(metric: str, section: str) -> dict[str, Any]:
    return {
        **_card("LINE", metric, section),
        "metricKey": metric,
        "displayName": metric,
        "lineSmoothness": 0,
        "xAxisScaleType": "linear",
        "scaleType": "linear",
        "range": {},
        "xAxisKey": "step",
        "selectedXAxisMetricKey": "",
        "yAxisKey": "metric",
        "yAxisExpressions": [],
        "ignoreOutliers": False,
        "useGlobalXaxisKey": True,
        "useGlobalLineSmoothing": True,
    }


def safely(what: str, call: Callable[[], object]) -> None:
    """Runs a view update; a failure costs the view, never the run (logged on one line)."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - a UI nicety must not fail training
        log.warning("could not %s: %s: %s", what, type(error).__name__, error)
