"""The hand-written GRU layer (modalities/timeseries/gru.py) against autograd and `nn.GRU`."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.modalities.timeseries.gru import WEIGHT_NAMES, _GruLayer, gru_states


@pytest.mark.parametrize(("inputs", "hidden"), [(5, 24), (24, 7)])
def test_layer_gradients_match_finite_differences(inputs: int, hidden: int) -> None:
    torch.manual_seed(0)
    rnn = nn.GRU(inputs, hidden).double()
    x = torch.randn(6, 4, inputs, dtype=torch.float64, requires_grad=True)  # (T, B, I)
    weights = tuple(getattr(rnn, f"{name}_l0") for name in WEIGHT_NAMES)
    assert torch.autograd.gradcheck(_GruLayer.apply, (x, *weights))


def _hand_layers(out: torch.Tensor) -> int:
    """How many hand-written layer nodes the autograd graph of `out` holds (0: nn.GRU ran)."""
    seen, todo, count = set(), [out.grad_fn], 0
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        count += type(node).__name__ == "_GruLayerBackward"
        todo.extend(next_node for next_node, _ in node.next_functions)
    return count


@pytest.mark.parametrize(("layers", "bidirectional"), [(1, False), (3, False), (1, True), (3, True)])
def test_states_and_gradients_equal_nn_gru(layers: int, bidirectional: bool) -> None:
    torch.manual_seed(1)
    rnn = nn.GRU(5, 24, num_layers=layers, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(32, 24, 5, requires_grad=True)
    ours, theirs = gru_states(rnn, x), rnn(x)[0]
    assert _hand_layers(ours) == layers * (2 if bidirectional else 1)
    assert torch.allclose(ours, theirs, atol=1e-5)
    weight = torch.randn_like(theirs)
    wrt = (x, *rnn.parameters())
    our_grads = torch.autograd.grad((ours * weight).sum(), wrt)
    their_grads = torch.autograd.grad((theirs * weight).sum(), wrt)
    for a, b in zip(our_grads, their_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()


def test_frozen_weights_still_pass_the_input_gradient() -> None:
    # TimeGAN freezes D and R while G learns through them: only the input's gradient is wanted.
    torch.manual_seed(2)
    rnn = nn.GRU(24, 24, num_layers=2, batch_first=True).requires_grad_(False)
    x = torch.randn(16, 12, 24, requires_grad=True)
    (ours,) = torch.autograd.grad(gru_states(rnn, x).square().sum(), x)
    (theirs,) = torch.autograd.grad(rnn(x)[0].square().sum(), x)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert all(p.grad is None for p in rnn.parameters())


def test_other_dtypes_use_nn_gru_itself() -> None:
    rnn = nn.GRU(3, 4, batch_first=True).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    assert torch.equal(gru_states(rnn, x), rnn(x)[0])
