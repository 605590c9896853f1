"""The training progress bar: step, losses, it/s and ETA (tqdm computes the last two)."""

from __future__ import annotations

from tqdm import tqdm

SHOWN = ("loss_d", "loss_g")


class ProgressBar:
    """A tqdm bar on stderr, fed by the runner's progress callback."""

    def __init__(self, total: int, description: str) -> None:
        self._bar = tqdm(total=total, desc=description, unit="step", dynamic_ncols=True)
        self._step = 0

    def __call__(self, step: int, metrics: dict[str, float]) -> None:
        if step > self._step:
            self._bar.update(step - self._step)
            self._step = step
        self._bar.set_postfix({k: f"{metrics[k]:.3f}" for k in SHOWN if k in metrics}, refresh=False)

    def close(self) -> None:
        self._bar.close()
