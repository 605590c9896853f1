"""The training progress bar: step, losses, it/s and ETA (tqdm computes the last two)."""

from __future__ import annotations

import sys

from tqdm import tqdm

from ganforge.platform.runners.context import ATTEMPT_KEY, RESUMED_FROM_KEY

SHOWN = ("loss_d", "loss_g")


class ProgressBar:
    """A tqdm bar on stderr, fed by the runner's progress callback.

    The bar appears with the first report, so an error found before training is the only
    thing on the terminal.
    """

    def __init__(self, total: int, description: str) -> None:
        self.total = total
        self.description = description
        self._bar: tqdm | None = None
        self._step = 0

    def __call__(self, step: int, metrics: dict[str, float]) -> None:
        if ATTEMPT_KEY in metrics:
            self._restarted(int(metrics[ATTEMPT_KEY]), int(metrics[RESUMED_FROM_KEY]))
            return
        if self._bar is None:
            self._bar = tqdm(total=self.total, desc=self.description, unit="step", dynamic_ncols=True)
        if step > self._step:
            self._bar.update(step - self._step)
            self._step = step
        losses = {k: f"{metrics[k]:.3f}" for k in SHOWN if k in metrics}
        self._bar.set_postfix(losses, refresh=False)

    def _restarted(self, attempt: int, step: int) -> None:
        where = f"step {step}, its latest checkpoint" if step else "the start (no checkpoint yet)"
        line = f"a worker failed; Ray Train restarted the workers (attempt {attempt}), resuming from {where}"
        tqdm.write(line, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
