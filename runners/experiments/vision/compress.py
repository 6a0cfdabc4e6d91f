"""`compress`: efficient inference on a digits CNN (vision.compress): magnitude pruning with
retraining (accuracy against sparsity), k-means weight sharing, post-training int8 quantization;
a table of size, CPU latency and accuracy for each (accuracy_before_retrain: just after each pruning
step of the schedule; dense_pruned_at_once: the dense model pruned straight to that sparsity, not retrained).

Schedule (one train_step = one minibatch): ``dense_steps`` of dense training, then for each sparsity
in ``sparsities`` (increasing) prune to it and retrain ``retrain_steps`` with the mask held, then
``share_steps`` of centroid fine-tuning after k-means sharing of the ``target_sparsity`` model.
``data=mnist`` (or another dataset of the classifiers) sizes the CNN for its images."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal, Optional

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments._shared import batch_indices
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.efficient import compress as C


@dataclass
class CompressConfig(RunConfig):
    steps: int = 1050  # dense_steps + len(sparsities) * retrain_steps + share_steps
    eval_every: int = 150
    batch_size: int = 64
    lr: float = 2e-3
    retrain_lr: float = 1e-3
    data: str = "digits"  # digits | mnist | fashion-mnist | cifar10 (as the classifiers)
    data_root: Optional[str] = None  # cache folder for the standard files (default $GYMLAB_DATA)
    eval_batch: int = 1000  # images per evaluation chunk (and int8 calibration images: 4 chunks at most)
    width: int = 32
    hidden: int = 128
    dense_steps: int = 450
    sparsities: str = "0.5,0.8,0.9"
    scope: Literal["global", "layer"] = "global"  # global | layer: one magnitude threshold for the network or one per layer
    retrain_steps: int = 150
    target_sparsity: float = 0.8  # the pruned model reported as eval/pruned_accuracy, then shared
    share_bits: int = 4
    share_steps: int = 150
    share_lr: float = 1e-3
    latency_batch: int = 256


@register("compress", data="digits", metric="eval/accuracy", select="eval/val_accuracy",
          description="pruning with retraining, k-means weight sharing, int8 quantization: size/latency/accuracy")
class Compress(Experiment):
    Config = CompressConfig

    def setup(self, cfg: CompressConfig, ctx):
        from gymlab.runners.experiments.vision.classifiers import load_data

        try:
            self.levels = sorted(float(s) for s in cfg.sparsities.split(","))
        except ValueError:
            raise GymlabError(f"bad value for 'sparsities': {cfg.sparsities!r}; expected numbers in [0, 1) joined by commas") from None
        if cfg.target_sparsity not in self.levels or not all(0 <= s < 1 for s in self.levels):
            raise GymlabError(f"bad value for 'target_sparsity': {cfg.target_sparsity}; it must be one of sparsities "
                              f"({cfg.sparsities}), all in [0, 1)")
        if cfg.share_steps < 1:
            raise GymlabError(f"bad value for 'share_steps': {cfg.share_steps}; it must be at least 1")
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        ds = load_data(cfg.data, cfg.seed, cfg.data_root)
        self.ds = {k: (getattr(ds, k).x.to(ctx.device), getattr(ds, k).y.to(ctx.device)) for k in ("train", "val", "test")}
        c, h, _ = ds.shape
        self.net_kwargs = dict(num_classes=ds.num_classes, image_size=h, in_channels=c)
        self.model = ctx.prepare_model(C.DigitNet(cfg.width, cfg.hidden, **self.net_kwargs))
        self.opt = torch.optim.Adam(self.model.parameters(), cfg.lr)
        self.steps_per_epoch = math.ceil(len(ds.train) / cfg.batch_size)
        self.total = cfg.dense_steps + len(self.levels) * cfg.retrain_steps + cfg.share_steps
        self.step = 0
        self.masks = None
        self.shared = None
        self.snapshots = {}  # phase name -> (state_dict, accuracy right after pruning)
        self.rows = None

    # ------------------------------------------------------------------ phases
    def _phase(self, step):
        """('dense', None) | ('prune', level) | ('share', None) for a 0-based step."""
        if step < self.cfg.dense_steps:
            return "dense", None
        k = (step - self.cfg.dense_steps) // self.cfg.retrain_steps
        return ("prune", self.levels[k]) if k < len(self.levels) else ("share", None)

    def _start_phase(self, phase, level):
        prev = self._phase(self.step - 1) if self.step > 0 else None
        if prev == (phase, level):
            return
        if prev is not None:  # keep the model at the end of the previous phase
            self.snapshots[prev[0] if prev[0] != "prune" else f"prune{prev[1]}"] = copy.deepcopy(self.model.state_dict())
        if phase == "prune":
            self.masks = C.magnitude_masks(self.model, level, self.cfg.scope)
            C.apply_masks(self.model, self.masks)
            self.snapshots[f"oneshot{level}"] = self._acc("test")  # before retraining
            self.opt = torch.optim.Adam(self.model.parameters(), self.cfg.retrain_lr)
        elif phase == "share":
            self.model.load_state_dict(self.snapshots[f"prune{self.cfg.target_sparsity}"])
            self.shared = C.kmeans_share(self.model, self.cfg.share_bits)
            self.snapshots["shared_before_finetune"] = self._acc("test")

    def train_step(self):
        phase, level = self._phase(self.step)
        self._start_phase(phase, level)
        x, y = self.ds["train"]
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, len(y), self.cfg.batch_size)).to(self.device)
        self.model.train()
        loss = F.cross_entropy(self.model(x[idx]), y[idx])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if phase == "share":  # only the centroids move (BN statistics still update)
            C.centroid_step(self.model, self.shared, self.cfg.share_lr)
        else:
            self.opt.step()
            if phase == "prune":
                C.apply_masks(self.model, self.masks)
        self.step += 1
        return {"train/loss": loss.item(), "train/sparsity": C.sparsity(self.model),
                "train/epoch": self.step / self.steps_per_epoch}

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def _acc(self, split, model=None):
        model = model or self.model
        model.eval()
        x, y = self.ds[split]
        dev = next(model.parameters()).device if list(model.parameters()) else torch.device("cpu")
        b = max(1, self.cfg.eval_batch)
        hits = sum(int((model(xb.to(dev)).argmax(1).cpu() == yb.cpu()).sum()) for xb, yb in zip(x.split(b), y.split(b)))
        return hits / len(y)

    def _model_from(self, state):
        m = C.DigitNet(self.cfg.width, self.cfg.hidden, **self.net_kwargs).to(self.device)
        m.load_state_dict(state)
        return m

    def _table(self):
        """Rows for each compressed model (computed once, at the end of the schedule)."""
        cfg = self.cfg
        snaps = {**self.snapshots, "share": copy.deepcopy(self.model.state_dict())}
        xl = self.ds["test"][0][:cfg.latency_batch].cpu()
        dense = self._model_from(snaps["dense"]).cpu()
        rows = [{"model": "dense fp32", "sparsity": 0.0, "bytes": C.model_bytes(dense),
                 "latency_ms": C.latency_ms(dense, xl), "accuracy": self._acc("test", dense)}]
        for s in self.levels:
            m = self._model_from(snaps[f"prune{s}"]).cpu()
            once = self._model_from(snaps["dense"]).cpu()  # the dense model pruned to s at once, never retrained
            C.apply_masks(once, C.magnitude_masks(once, s, cfg.scope))
            rows.append({"model": f"pruned {s:.0%} + retrain", "sparsity": C.sparsity(m), "bytes": C.sparse_bytes(m),
                         "latency_ms": C.latency_ms(m, xl), "accuracy": self._acc("test", m),
                         "accuracy_before_retrain": snaps[f"oneshot{s}"], "dense_pruned_at_once": self._acc("test", once)})
        m = self._model_from(snaps["share"]).cpu()
        rows.append({"model": f"pruned {cfg.target_sparsity:.0%} + shared {cfg.share_bits}-bit", "sparsity": C.sparsity(m),
                     "bytes": C.shared_bytes(m, self.shared, cfg.share_bits), "latency_ms": C.latency_ms(m, xl),
                     "accuracy": self._acc("test", m), "accuracy_before_retrain": snaps["shared_before_finetune"]})
        q = C.quantize_int8(dense, self.ds["train"][0][:4 * max(1, cfg.eval_batch)])
        rows.append({"model": "dense int8 (post-training)", "sparsity": 0.0, "bytes": C.model_bytes(q),
                     "latency_ms": C.latency_ms(q, xl), "accuracy": self._acc("test", q)})
        return rows

    def evaluate(self):
        out = {"eval/accuracy": self._acc("test"), "eval/val_accuracy": self._acc("val"),
               "eval/sparsity": C.sparsity(self.model)}
        if self.step >= self.total:
            if self.rows is None:
                self.rows = self._table()
            r = {row["model"]: row for row in self.rows}
            dense = r["dense fp32"]
            pruned = r[f"pruned {self.cfg.target_sparsity:.0%} + retrain"]
            shared = self.rows[-2]
            int8 = r["dense int8 (post-training)"]
            out.update({"eval/dense_accuracy": dense["accuracy"], "eval/pruned_accuracy": pruned["accuracy"],
                        "eval/pruned_sparsity": pruned["sparsity"], "eval/shared_accuracy": shared["accuracy"],
                        "eval/int8_accuracy": int8["accuracy"], "eval/dense_bytes": dense["bytes"],
                        "eval/int8_bytes": int8["bytes"], "eval/int8_speedup": dense["latency_ms"] / int8["latency_ms"],
                        "eval/pruned_bytes": pruned["bytes"], "eval/shared_bytes": shared["bytes"]})
        return out

    def media(self):
        if self.rows is None:
            return {}
        prune = [r for r in self.rows if r["model"].endswith("retrain")]
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        sp = [0.0] + [r["sparsity"] for r in prune]
        ax.plot(sp, [self.rows[0]["accuracy"]] + [r["accuracy"] for r in prune], "o-", label="with retraining")
        ax.plot(sp, [self.rows[0]["accuracy"]] + [r["dense_pruned_at_once"] for r in prune], "s--",
                label="dense pruned at once, no retraining")
        ax.set_xlabel("sparsity (fraction of zero weights)")
        ax.set_ylabel("test accuracy")
        ax.legend()
        ax.grid(alpha=0.3)
        return {"compression_table": self.rows, "accuracy_vs_sparsity": fig}

    def state_dict(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step, "masks": self.masks,
                "shared": self.shared, "snapshots": self.snapshots}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.step, self.masks, self.shared, self.snapshots = state["step"], state["masks"], state["shared"], state["snapshots"]
        phase, _ = self._phase(max(self.step - 1, 0))
        lr = self.cfg.lr if phase == "dense" else self.cfg.retrain_lr
        self.opt = torch.optim.Adam(self.model.parameters(), lr)
        self.opt.load_state_dict(state["opt"])
