"""`complexity`: the notes' "comparing complexity" table for every backbone (at each of ``sizes``) and every
generative model (generative.zoo), one model per step, by vision.efficient.complexity: params,
params_in_layers (the part in layers the hooks see), MACs of the Conv/Linear/RNN layers,
MACs_flop_counter (PyTorch's count, inline matmuls too), activation memory, CPU latency, and the notes'
formulas checked on every conv and linear layer. Keys: eval/models, eval/formula_mismatches,
eval/formula_layers, eval/total_params. Media: table, complexity, formula_checks, layers_<detail>."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gymlab.generative.zoo import generative_models
from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.vision.efficient import complexity as cx
from gymlab.vision.efficient.plots import complexity_bubbles


@dataclass
class ComplexityConfig(RunConfig):
    steps: int = 1000  # one model per step; stops when every model is measured
    eval_every: int = 1000
    sizes: str = "8,28,32"  # input sizes of the backbones, of 8, 28, 32 (generative models: the 8 and 28 ones)
    generative: bool = True  # the generative models too
    latency_repeats: int = field(default=20, metadata={"range": (1, None, "at least 1")})  # timed passes of one image (median)
    detail: str = "resnet"  # the model whose per-layer table is logged (at the largest size)


@register("complexity", data="random inputs", metric="eval/models", mode="max",
          description="parameters, multiply-adds, activation memory and CPU latency of every backbone and generative model")
class Complexity(Experiment):
    Config = ComplexityConfig
    counters = ("rows", "checks", "layers", "done")

    def setup(self, cfg: ComplexityConfig, ctx):
        sizes = [s.strip() for s in str(cfg.sizes).split(",") if s.strip()]
        if not sizes or any(s not in ("8", "28", "32") for s in sizes):
            raise GymlabError(f"bad value for 'sizes': {cfg.sizes!r}; a comma-separated list of 8, 28, 32")
        self.cfg, sizes = cfg, [int(s) for s in sizes]
        self.entries = cx.backbone_models(sizes) + [e for s in sizes if s != 32 and cfg.generative for e in generative_models(s)]
        if cfg.detail and cfg.detail not in {e[0] for e in self.entries}:
            raise GymlabError(f"bad value for 'detail': {cfg.detail!r}; valid: {', '.join(sorted({e[0] for e in self.entries}))}")
        self.rows, self.checks, self.layers = [], [], []

    def train_step(self):
        name, family, size, factory = self.entries[len(self.rows)]
        torch.manual_seed(self.cfg.seed)
        model, args = factory()
        row, checks, prof = cx.complexity_row(model, args, self.cfg.latency_repeats)
        x = args[0]
        shape = f"{x.shape[1]}x{size}x{size}" if x.dim() == 4 else f"z{x.shape[1]} -> 1x{size}x{size}"
        self.rows.append({"model": name, "family": family, "input": shape, **row})
        self.checks += [{"model": name, "size": size, **c} for c in checks]
        if name == self.cfg.detail and size == max(e[2] for e in self.entries if e[0] == name):
            self.layers = cx.layer_table(prof)
        self.done = len(self.rows) == len(self.entries)
        return {"train/models_done": len(self.rows)}

    def evaluate(self):
        return {"eval/models": len(self.rows), "eval/formula_mismatches": sum(r["formula_mismatches"] for r in self.rows),
                "eval/formula_layers": sum(r["formula_layers"] for r in self.rows),
                "eval/total_params": sum(r["params"] for r in self.rows)}

    def media(self):
        out = {"complexity": complexity_bubbles(self.rows), "table": self.rows, "formula_checks": self.checks}
        return {**out, f"layers_{self.cfg.detail}": self.layers} if self.layers else out
