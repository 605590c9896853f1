"""A GRU whose backward pass is written by hand, for small GRUs on a CPU.

TimeGAN's GRUs are tiny (width 24, batch 128, 24 steps): on a CPU much of their cost is the
number of operations. `nn.GRU` records about 13 operations per time step and layer, and autograd
then runs about twice as many in backward. Here one layer is one autograd node: forward takes 5
operations per step (the input projections of all steps are one batched product before the loop),
backward 3 (every factor that does not depend on the incoming gradient is computed for all steps
at once before the loop, and the weight gradients are one product over all steps after it).
A TimeGAN joint step takes 1.46x less time (`benchmarks/timeseries_gru.py`, sines, one thread).

`gru_states` runs an `nn.GRU`'s own parameters, so state dicts, checkpoints and registered models
are unchanged; it takes the hand-written path for float32 on a CPU and calls the `nn.GRU` itself
everywhere else (cuDNN's fused kernels are faster on a GPU).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

Tensor = torch.Tensor
WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # nn.GRU's, per layer


class _GruLayer(torch.autograd.Function):
    """One GRU layer over a time-major input (T, B, I) from a zero state -> every step's state (T, B, H).

    PyTorch's gate order and equations (r, z, n): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h = lerp(n, h, z).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
        steps, batch, inputs = x.shape
        hidden = w_hh.shape[1]
        x_flat = x.reshape(steps * batch, inputs)
        # Gate-major (3, T, B, H): every per-step operation below then reads and writes contiguous
        # (B, H) blocks (on column slices PyTorch's CPU kernels are several times slower).
        w_ih_t = w_ih.view(3, hidden, inputs).transpose(1, 2)
        recurrent_rz_bias = torch.cat((b_hh[: 2 * hidden], torch.zeros_like(b_hh[2 * hidden :])))
        bias = (b_ih + recurrent_rz_bias).view(3, 1, hidden)
        gates = torch.baddbmm(bias, x_flat.expand(3, -1, -1), w_ih_t).view(3, steps, batch, hidden)
        gi_n = gates[2].clone()  # W_in x + b_in; gates[2] then becomes W_hn h + b_hn, which r multiplies
        gates[2] = b_hh[2 * hidden :]
        w_hh_t = w_hh.view(3, hidden, hidden).transpose(1, 2)
        states = x.new_zeros(steps + 1, batch, hidden)  # states[t] is the state before step t
        n = x.new_empty(steps, batch, hidden)
        # Per-step views made once (indexing costs about a microsecond per call).
        state, gate, new, input_n = states.unbind(0), gates.unbind(1), n.unbind(0), gi_n.unbind(0)
        for t in range(steps):
            r, z, gh_n = gate[t].baddbmm_(state[t].expand(3, batch, hidden), w_hh_t).unbind(0)
            gate[t][:2].sigmoid_()
            torch.addcmul(input_n[t], r, gh_n, out=new[t]).tanh_()
            torch.lerp(new[t], state[t], z, out=state[t + 1])
        ctx.save_for_backward(x_flat, w_ih, w_hh, states, gates, n)
        return states[1:]

    @staticmethod
    def backward(ctx: Any, grad_states: Tensor) -> tuple[Tensor | None, ...]:
        x_flat, w_ih, w_hh, states, gates, n = ctx.saved_tensors
        steps, batch, hidden = n.shape
        r, z, gh_n, before = gates[0], gates[1], gates[2], states[:-1]
        # d(loss)/d(pre-activation of each gate) = d(loss)/d(h') * factor, with factors that do not
        # depend on the gradient: computed for all steps here, so the loop below is 3 operations.
        d_n = (1 - z) * (1 - n * n)
        factor_r = d_n * gh_n * r * (1 - r)
        factor_z = (before - n) * z * (1 - z)
        gate_factors = torch.stack((factor_r, factor_z, d_n * r), dim=2)  # (T, B, 3, H): r, z, W_hn h
        grad_gh = x_flat.new_empty(steps, batch, 3, hidden)
        grad_h = grad_states.contiguous().clone()  # becomes d(loss)/d(state after step t), in full
        grad_state, factor, grad_gate = grad_h.unbind(0), gate_factors.unbind(0), grad_gh.unbind(0)
        z_step = z.unbind(0)
        for t in range(steps - 1, -1, -1):
            torch.mul(grad_state[t].unsqueeze(1), factor[t], out=grad_gate[t])
            if t:
                through_gates = grad_gate[t].view(batch, 3 * hidden)
                grad_state[t - 1].addcmul_(grad_state[t], z_step[t]).addmm_(through_gates, w_hh)
        need = ctx.needs_input_grad
        grad_gh = grad_gh.view(steps * batch, 3 * hidden)
        grad_w_hh = grad_gh.t() @ before.reshape(steps * batch, hidden) if need[2] else None
        grad_b_hh = grad_gh.sum(0) if need[4] else None
        # The input's gates take the same gradients, but for n's, which r does not multiply:
        # written over grad_gh, which is no longer needed.
        grad_gi = grad_gh.view(steps, batch, 3, hidden)
        torch.mul(grad_h, d_n, out=grad_gi[:, :, 2])
        grad_gi = grad_gi.view(steps * batch, 3 * hidden)
        grad_x = (grad_gi @ w_ih).view(steps, batch, -1) if need[0] else None
        grad_w_ih = grad_gi.t() @ x_flat if need[1] else None
        grad_b_ih = grad_gi.sum(0) if need[3] else None
        return grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


def gru_states(rnn: nn.GRU, x: Tensor) -> Tensor:
    """`rnn(x)[0]` for a batch-first `rnn` from a zero state: every step's top-layer state (B, T, H),
    or (B, T, 2H) for a bidirectional one (the forward direction's states, then the reverse's)."""
    plain = x.device.type != "cpu" or x.dtype != torch.float32 or not rnn.batch_first
    plain = plain or (rnn.training and rnn.dropout > 0)  # the layer below has no inter-layer dropout
    # torch.export (how the registry stores generators) traces `nn.GRU`'s graph: the per-step
    # writes into views below are not traceable, and the exported graph runs the same function.
    if plain or torch.compiler.is_compiling():
        return rnn(x)[0]
    out = x.transpose(0, 1)  # time-major, so that every step is one contiguous (B, H) slice
    for layer in range(rnn.num_layers):
        forward = _GruLayer.apply(out, *(getattr(rnn, f"{name}_l{layer}") for name in WEIGHT_NAMES))
        if rnn.bidirectional:  # the reverse direction runs on the time-reversed sequence
            weights = (getattr(rnn, f"{name}_l{layer}_reverse") for name in WEIGHT_NAMES)
            reverse = _GruLayer.apply(out.flip(0), *weights).flip(0)
            forward = torch.cat((forward, reverse), dim=2)
        out = forward
    return out.transpose(0, 1)
