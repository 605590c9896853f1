"""The training progress bar: step, losses, it/s and ETA (tqdm computes the last two)."""

from __future__ import annotations

from tqdm import tqdm

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
        if self._bar is None:
            self._bar = tqdm(total=self.total, desc=self.description, unit="step", dynamic_ncols=True)
        if step > self._step:
            self._bar.update(step - self._step)
            self._step = step
        losses = {k: f"{metrics[k]:.3f}" for k in SHOWN if k in metrics}
        self._bar.set_postfix(losses, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
