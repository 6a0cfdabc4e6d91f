"""`complexity`: the notes' "comparing complexity" table for the lab's own models.

For every backbone of vision.backbones (at each input size) and every generative model of
generative/: parameters, multiply-adds per image, activation memory per image and the measured
CPU latency of one image (vision.complexity), plus a check of the notes' formulas on every conv and
linear layer that runs (F*F*D1*K + K parameters, output (W - F + 2P)/S + 1). ``params`` is
sum(p.numel()); ``params_in_layers`` the part held by the layers the hooks see (a bare
nn.Parameter used in an inline matmul, like FVSBN's, is not in a layer). ``MACs`` counts the
Conv/Linear/RNN layers (the notes' convention); ``MACs_flop_counter`` is PyTorch's FLOP counter
halved, which also sees inline matmuls. One model per step; the run is done when all are measured.

Media: the table, multiply-adds against parameters (bubble area: latency), the per-layer table of
one model (``detail``), and the formula checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.efficient import complexity as cx
from gymlab.vision.nn.backbones import BACKBONES, build
from gymlab.vision.nn.layers import inference


class _Method(nn.Module):
    """Calls ``model.<method>(*args)`` as its forward, so that hooks see a model without ``forward``."""

    def __init__(self, model: nn.Module, method: str):
        super().__init__()
        self.model, self.method = model, method

    def forward(self, *args):
        return getattr(self.model, self.method)(*args)


def _generative(size: int) -> list[tuple[str, str, Callable[[], tuple]]]:
    """(name, family, factory -> (model, example args)) for the generative models on 1 x size x size
    binary images. A model is added here in one line."""
    from gymlab.generative.autoencoder import Autoencoder
    from gymlab.generative.baselines import FVSBN, IndependentPixels
    from gymlab.generative.gan import Discriminator, Generator
    from gymlab.generative.gated_pixelcnn import GatedPixelCNN
    from gymlab.generative.pixelcnn import PixelCNN
    from gymlab.generative.pixelrnn import PixelRNN
    from gymlab.generative.vae import VAE

    shape = (1, size, size)
    img = lambda: torch.rand(1, *shape).round()  # noqa: E731
    return [
        ("independent-pixels", "generative", lambda: (IndependentPixels(shape), (img(),))),
        ("fvsbn", "generative", lambda: (FVSBN(shape), (img(),))),
        ("pixelcnn", "generative", lambda: (PixelCNN(), (img(),))),
        ("gated-pixelcnn", "generative", lambda: (GatedPixelCNN(), (img(),))),
        ("pixelrnn-row", "generative", lambda: (PixelRNN("row-lstm"), (img(),))),
        ("pixelrnn-diagonal", "generative", lambda: (PixelRNN("diagonal-bilstm"), (img(),))),
        ("autoencoder", "generative", lambda: (Autoencoder(shape), (img(),))),
        ("vae (elbo)", "generative", lambda: (_Method(VAE(shape), "elbo"), (img(),))),
        ("dcgan-generator", "generative", lambda: (Generator(shape, latent=32), (torch.randn(1, 32),))),
        ("dcgan-discriminator", "generative", lambda: (Discriminator(shape), (img(),))),
    ]


def _backbones(sizes: list[int]) -> list[tuple[str, str, int, Callable[[], tuple]]]:
    """Every backbone at every size: 1 channel at 8 (digits) and 28 (MNIST), 3 at 32 (CIFAR)."""
    out = []
    for size in sizes:
        c = 3 if size == 32 else 1
        for name in BACKBONES:
            out.append((name, "backbone", size, lambda n=name, s=size, c=c:
                        (build(n, in_channels=c, image_size=s), (torch.rand(1, c, s, s),))))
    return out


def _flop_counter_macs(model: nn.Module, args: tuple) -> int:
    """PyTorch's own count (torch.utils.flop_counter: every matmul and convolution, 2 FLOPs per
    multiply-add), per image: a peer check of the hooks, and it also sees matmuls outside layers."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc, inference(model):
        model(*args)
    return fc.get_total_flops() // 2 // args[0].shape[0]


@dataclass
class ComplexityConfig(RunConfig):
    steps: int = 1000  # one model per step; stops when every model is measured
    eval_every: int = 1000
    sizes: str = "8,28,32"  # input sizes of the backbones (generative models: the 8 and 28 ones)
    generative: bool = True
    latency_repeats: int = 20  # timed forward passes of one image (median reported)
    detail: str = "resnet"  # the model whose per-layer table is logged (at the largest size)


@register("complexity", data="random inputs", metric="eval/models", mode="max",
          description="parameters, multiply-adds, activation memory and CPU latency of every backbone and generative model")
class Complexity(Experiment):
    Config = ComplexityConfig

    def setup(self, cfg: ComplexityConfig, ctx):
        try:
            sizes = [int(s) for s in str(cfg.sizes).split(",") if s.strip()]
        except ValueError:
            raise GymlabError(f"bad value for 'sizes': {cfg.sizes!r}; a comma-separated list of 8, 28, 32") from None
        if not sizes or any(s not in (8, 28, 32) for s in sizes):
            raise GymlabError(f"bad value for 'sizes': {cfg.sizes!r}; valid sizes: 8, 28, 32")
        if cfg.latency_repeats < 1:
            raise GymlabError("bad value for 'latency_repeats': it must be at least 1")
        self.cfg = cfg
        gen_sizes = [s for s in sizes if s != 32]  # the generative models model 1-channel digits/MNIST
        self.entries = _backbones(sizes)
        if cfg.generative:
            self.entries += [(n, fam, s, f) for s in gen_sizes for n, fam, f in _generative(s)]
        names = {e[0] for e in self.entries}
        if cfg.detail and cfg.detail not in names:
            raise GymlabError(f"bad value for 'detail': {cfg.detail!r}; valid: {', '.join(sorted(names))}")
        self.rows: list[dict] = []
        self.checks: list[dict] = []
        self.layers: list[dict] = []
        self.done = False

    def train_step(self):
        name, family, size, factory = self.entries[len(self.rows)]
        torch.manual_seed(self.cfg.seed)
        model, args = factory()
        prof = cx.profile(model, args, latency=True, repeats=self.cfg.latency_repeats, warmup=2)
        checks = cx.formula_check(model, args)
        x = args[0]
        row = {"model": name, "family": family,
               "input": f"{x.shape[1]}x{size}x{size}" if x.dim() == 4 else f"z{x.shape[1]} -> 1x{size}x{size}",
               "params": prof.params, "params_in_layers": sum(r.params for r in prof.layers),
               "MACs": prof.macs, "MACs_flop_counter": _flop_counter_macs(model, args), "activations": prof.activations, "activation_KB": prof.activation_bytes / 1024,
               "latency_ms": prof.latency_ms, "formula_layers": len(checks),
               "formula_mismatches": sum(not c["ok"] for c in checks)}
        self.rows.append(row)
        self.checks += [{"model": name, "size": size, **c} for c in checks]
        if name == self.cfg.detail and size == max(e[2] for e in self.entries if e[0] == name):
            self.layers = cx.layer_table(prof)
        if len(self.rows) == len(self.entries):
            self.done = True
        return {"train/models_done": len(self.rows)}

    def evaluate(self):
        return {"eval/models": len(self.rows),
                "eval/formula_mismatches": sum(r["formula_mismatches"] for r in self.rows),
                "eval/formula_layers": sum(r["formula_layers"] for r in self.rows),
                "eval/total_params": sum(r["params"] for r in self.rows)}

    def media(self):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        fams = {"backbone": "C0", "generative": "C1"}
        for r in self.rows:
            if r["MACs"] <= 0 or r["params"] <= 0:
                continue
            ax.scatter(r["params"], r["MACs"], s=20 + 30 * np.sqrt(r["latency_ms"]), c=fams[r["family"]], alpha=0.6)
            ax.annotate(f"{r['model']} {r['input']}", (r["params"], r["MACs"]), fontsize=5)
        ax.set(xscale="log", yscale="log", xlabel="parameters", ylabel="multiply-adds per image",
               title="complexity (bubble area ~ CPU latency); blue: backbones, orange: generative")
        out = {"complexity": fig, "table": self.rows, "formula_checks": self.checks}
        if self.layers:
            out[f"layers_{self.cfg.detail}"] = self.layers
        return out

    def state_dict(self):
        return {"rows": list(self.rows), "checks": list(self.checks), "layers": list(self.layers), "done": self.done}

    def load_state_dict(self, state):
        self.rows, self.checks = list(state["rows"]), list(state["checks"])
        self.layers, self.done = list(state["layers"]), state["done"]
