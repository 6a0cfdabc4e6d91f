"""Architecture complexity, as in the notes' "comparing complexity": parameters, multiply-adds per
image, activation memory, and measured CPU latency, layer by layer.

The notes' formulas for a convolutional layer with K filters of size F x F over D1 input channels,
stride S and zero-padding P on a W1 x H1 input:

    weights  F * F * D1 * K          biases  K
    output   W2 = (W1 - F + 2P) / S + 1,  H2 likewise,  D2 = K    (must be an integer)
    multiply-adds  W2 * H2 * K * (F * F * D1)      (every output number is one F*F*D1 dot product)

and for a fully-connected layer from N inputs to M outputs: N * M weights, M biases, N * M
multiply-adds. Grouped convolutions divide the weights and multiply-adds by the number of groups.

``profile(model, example)`` counts these with forward hooks on every Conv/Linear (and the
torch.nn recurrent layers), so a layer called several times (a recurrence, a shared block) is
counted every time it runs. Operations outside such modules (an elementwise add, a matmul written
inline, attention) are not multiply-adds here, as in the notes' tables. Activation memory is the
number of values that the layers output for one image (plus the input), the way the notes count
VGG's memory: activation functions, dropout and identities are folded into the layer before them
(they run in place at inference); everything else (conv, pool, linear, batch norm, ...) counts.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import torch
from torch import nn

from gymlab.vision.nn.layers import inference

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONVT = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_RNN = (nn.RNN, nn.LSTM, nn.GRU)
_FOLDED = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus,
           nn.Mish, nn.Hardswish, nn.PReLU, nn.Dropout, nn.Dropout2d, nn.Dropout1d, nn.AlphaDropout,
           nn.Identity, nn.Flatten, nn.Unflatten)


# ------------------------------------------------------------------------------------ the formulas
def conv_output_size(w: int, f: int, p: int = 0, s: int = 1, strict: bool = True) -> int:
    """(W - F + 2P) / S + 1. With ``strict`` a non-integer result is an error (the notes: the
    hyperparameters do not fit); otherwise it rounds down, as PyTorch does."""
    num = w - f + 2 * p
    if num < 0:
        raise ValueError(f"filter {f} is larger than the padded input {w} + 2*{p}")
    if strict and num % s:
        raise ValueError(f"(W - F + 2P) / S + 1 = ({w} - {f} + 2*{p}) / {s} + 1 is not an integer; "
                         f"change the padding or the stride")
    return num // s + 1


def conv_params(f: int, d1: int, k: int, bias: bool = True, groups: int = 1) -> int:
    """F * F * D1 * K weights (divided by the groups) plus K biases."""
    return f * f * (d1 // groups) * k + (k if bias else 0)


def conv_macs(f: int, d1: int, k: int, h2: int, w2: int, groups: int = 1) -> int:
    """Multiply-adds of one image: H2 * W2 * K outputs, each a dot product of length F * F * D1 / groups."""
    return h2 * w2 * k * f * f * (d1 // groups)


def linear_params(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """sum(p.numel()) over the model's parameters (each shared tensor once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ------------------------------------------------------------------------------------ per-layer counts
def _numel_per_item(t, batch: int) -> int:
    if isinstance(t, torch.Tensor):
        return t.numel() // max(batch, 1)
    if isinstance(t, (tuple, list)):
        return sum(_numel_per_item(x, batch) for x in t)
    if isinstance(t, dict):
        return sum(_numel_per_item(x, batch) for x in t.values())
    return 0


def _first_tensor(t):
    if isinstance(t, torch.Tensor):
        return t
    if isinstance(t, (tuple, list)):
        for x in t:
            r = _first_tensor(x)
            if r is not None:
                return r
    return None


def module_macs(m: nn.Module, inputs: tuple, output, batch: int) -> int:
    """Multiply-adds per example of one call of a Conv, ConvTranspose, Linear or recurrent module."""
    out = _first_tensor(output)
    if isinstance(m, _CONV):
        k = 1
        for s in m.kernel_size:
            k *= s
        return out.numel() // batch * k * (m.in_channels // m.groups)
    if isinstance(m, _CONVT):  # every input value is scattered through K/groups filters
        k = 1
        for s in m.kernel_size:
            k *= s
        x = _first_tensor(inputs)
        return x.numel() // batch * k * (m.out_channels // m.groups)
    if isinstance(m, nn.Linear):
        return out.numel() // batch * m.in_features
    if isinstance(m, nn.Bilinear):
        return out.numel() // batch * m.in1_features * m.in2_features
    if isinstance(m, _RNN):
        gates = 4 if isinstance(m, nn.LSTM) else 3 if isinstance(m, nn.GRU) else 1
        x = _first_tensor(inputs)
        steps = x.shape[0 if not m.batch_first else 1] if x.dim() == 3 else 1
        dirs = 2 if m.bidirectional else 1
        total, n_in = 0, m.input_size
        for _ in range(m.num_layers):
            total += dirs * steps * gates * m.hidden_size * (n_in + m.hidden_size)
            n_in = m.hidden_size * dirs
        return total
    return 0


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int
    activations: int
    calls: int = 1


@dataclass
class Profile:
    """Complexity of a model for one example: counts, memory, and (if measured) CPU latency."""
    params: int
    macs: int
    activations: int  # values per example: the input plus every counted layer output
    activation_bytes: int
    latency_ms: Optional[float] = None
    layers: list = field(default_factory=list)

    def row(self, name: str = "") -> dict:
        out = {"model": name, "params": self.params, "MACs": self.macs, "activations": self.activations,
               "activation_MB": self.activation_bytes / 2**20}
        if self.latency_ms is not None:
            out["latency_ms"] = self.latency_ms
        return out


def _forward_with_hooks(model: nn.Module, args: tuple, modules: list, hook) -> None:
    """One forward pass in ``inference`` with ``hook`` on each of ``modules`` (removed after)."""
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with inference(model):
            model(*args)
    finally:
        for h in handles:
            h.remove()


def _leaf(m: nn.Module) -> bool:
    return next(iter(m.children()), None) is None


def _counts_macs(m: nn.Module) -> bool:
    return isinstance(m, (*_CONV, *_CONVT, nn.Linear, nn.Bilinear, *_RNN))


def profile(model: nn.Module, example: Union[torch.Tensor, Sequence[torch.Tensor]], *, latency: bool = False,
            repeats: int = 20, warmup: int = 3) -> Profile:
    """Count parameters, multiply-adds and activation memory per example of ``model`` on ``example``
    (a batch, or a tuple of forward arguments whose first is the batch); optionally time the forward
    pass of that batch on its device (median of ``repeats``, in ms). The model runs in eval mode
    under no_grad and is returned to its previous mode."""
    args = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    batch = args[0].shape[0]
    names = {m: n for n, m in model.named_modules()}
    rows: dict[nn.Module, LayerRow] = {}

    def hook(m, inputs, output):
        counted_mac = _counts_macs(m)
        if not counted_mac and not _leaf(m):
            return
        macs = module_macs(m, inputs, output, batch) if counted_mac else 0
        acts = 0 if isinstance(m, _FOLDED) else _numel_per_item(output, batch)
        if isinstance(m, _RNN):
            acts = _numel_per_item(output[0], batch) if isinstance(output, tuple) else acts
        out = _first_tensor(output)
        shape = tuple(out.shape[1:]) if out is not None else ()
        if m in rows:
            r = rows[m]
            r.macs += macs
            r.activations += acts
            r.calls += 1
        else:
            rows[m] = LayerRow(names.get(m, ""), type(m).__name__, shape, 0, macs, acts)

    _forward_with_hooks(model, args, [m for m in model.modules() if _leaf(m) or _counts_macs(m)], hook)
    # parameters: each counted module's own (direct) parameters; the rest stays in the total
    for m, r in rows.items():
        r.params = sum(p.numel() for p in m.parameters(recurse=_leaf(m) or isinstance(m, _RNN)))
    layers = list(rows.values())
    first = args[0]
    activations = first.numel() // batch + sum(r.activations for r in layers)
    prof = Profile(params=count_params(model), macs=sum(r.macs for r in layers), activations=activations,
                   activation_bytes=activations * first.element_size() if first.is_floating_point()
                   else activations * 4, layers=layers)
    if latency:
        prof.latency_ms = measure_latency(model, args, repeats=repeats, warmup=warmup)
    return prof


def measure_latency(model: nn.Module, args: tuple, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of ``model(*args)`` in milliseconds (eval mode, no_grad)."""
    times = []
    with inference(model):
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            model(*args)
            if args[0].device.type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def layer_table(prof: Profile) -> list[dict]:
    """The notes' per-layer table: name, type, output shape, params, multiply-adds, activations."""
    return [{"layer": r.name or "(root)", "type": r.kind, "output": "x".join(map(str, r.output_shape)),
             "params": r.params, "MACs": r.macs, "activations": r.activations,
             **({"calls": r.calls} if r.calls > 1 else {})}
            for r in prof.layers if r.params or r.macs or r.activations]


def formula_check(model: nn.Module, example: Union[torch.Tensor, Sequence[torch.Tensor]]) -> list[dict]:
    """Check the notes' formulas on every Conv2d and Linear layer that runs on ``example``:
    parameters F*F*D1*K (/groups) + K against the layer's tensors, and the output size
    (W - F + 2P)/S + 1 (dilation 1) against the output PyTorch produced. One row per layer with
    ``ok`` True when both agree (Linear: N*M + M parameters)."""
    args = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    names = {m: n for n, m in model.named_modules()}
    rows: dict = {}

    def hook(m, inputs, output):
        if m in rows:
            return
        actual = sum(p.numel() for p in m.parameters(recurse=False))
        if isinstance(m, nn.Linear):
            want = linear_params(m.in_features, m.out_features, m.bias is not None)
            rows[m] = {"layer": names.get(m, ""), "type": type(m).__name__, "params": actual,
                       "params_formula": want, "output": "", "output_formula": "", "ok": want == actual}
            return
        (fh, fw), (sh, sw) = m.kernel_size, m.stride
        want = fh * fw * (m.in_channels // m.groups) * m.out_channels + (m.out_channels if m.bias is not None else 0)
        x, out = _first_tensor(inputs), _first_tensor(output)
        got = tuple(out.shape[-2:])
        # a dilated filter covers d (F - 1) + 1 pixels; 'valid' is P = 0 and 'same' (stride 1) P = (F' - 1) / 2
        span = [d * (f - 1) + 1 for d, f in zip(m.dilation, m.kernel_size)]
        if m.padding == "same":
            pad = [(f - 1) / 2 for f in span]
        elif m.padding == "valid":
            pad = [0, 0]
        else:
            pad = list(m.padding)
        formula = tuple(int((w - f + 2 * p) // s + 1) for w, f, p, s in zip(x.shape[-2:], span, pad, (sh, sw)))
        rows[m] = {"layer": names.get(m, ""), "type": type(m).__name__, "params": actual, "params_formula": want,
                   "output": "x".join(map(str, got)), "output_formula": "x".join(map(str, formula)),
                   "ok": want == actual and tuple(formula) == got}

    _forward_with_hooks(model, args, [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))], hook)
    return list(rows.values())


def flop_counter_macs(model: nn.Module, args: tuple) -> int:
    """PyTorch's own count per image (torch.utils.flop_counter: every matmul and convolution, 2 FLOPs
    per multiply-add, halved): a peer check of the hooks that also sees matmuls outside layers."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc, inference(model):
        model(*args)
    return fc.get_total_flops() // 2 // args[0].shape[0]


def complexity_row(model: nn.Module, args: tuple, repeats: int = 20) -> tuple[dict, list[dict], Profile]:
    """One row of the comparison table (params; params_in_layers, the part the hooks see; MACs of the
    layers; MACs_flop_counter; activations per image; latency_ms, the median of ``repeats`` CPU passes;
    formula_layers and formula_mismatches of ``formula_check``), the formula checks, and the profile."""
    prof = profile(model, args, latency=True, repeats=repeats, warmup=2)
    checks = formula_check(model, args)
    row = {"params": prof.params, "params_in_layers": sum(r.params for r in prof.layers), "MACs": prof.macs,
           "MACs_flop_counter": flop_counter_macs(model, args), "activations": prof.activations,
           "activation_KB": prof.activation_bytes / 1024, "latency_ms": prof.latency_ms,
           "formula_layers": len(checks), "formula_mismatches": sum(not c["ok"] for c in checks)}
    return row, checks, prof


def backbone_models(sizes: Sequence[int]) -> list[tuple]:
    """(name, "backbone", size, factory -> (model, example args)) for every backbone of vision.nn.backbones
    at every size: 1 channel at 8 (digits) and 28 (MNIST), 3 at 32 (CIFAR)."""
    from gymlab.vision.nn.backbones import BACKBONES, build

    return [(n, "backbone", s, lambda n=n, s=s, c=3 if s == 32 else 1: (build(n, in_channels=c, image_size=s),
                                                                         (torch.rand(1, c, s, s),)))
            for s in sizes for n in BACKBONES]
