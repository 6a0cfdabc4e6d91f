"""`compress`: efficient inference on a digits CNN (vision.efficient): magnitude pruning with retraining
(accuracy against sparsity), k-means weight sharing, post-training int8 quantization, and the table of
size, CPU latency and accuracy of each (vision.efficient.compression_table).

Schedule (one train_step = one minibatch): ``dense_steps`` of dense training, then for each sparsity in
``sparsities`` (increasing) prune to it and retrain ``retrain_steps`` with the mask held, then
``share_steps`` of centroid fine-tuning after k-means sharing of the ``target_sparsity`` model.
Keys: eval/accuracy, eval/val_accuracy, eval/sparsity; at the end eval/{dense,pruned,shared,int8}_accuracy,
eval/*_bytes, eval/pruned_sparsity, eval/int8_speedup; media: compression_table, accuracy_vs_sparsity."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal, Optional

from gymlab.runners.config import OptimConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.templates.supervised import Classifier, SupervisedConfig
from gymlab.vision.efficient import compress as C
from gymlab.vision.efficient.compression_table import compression_table, headline
from gymlab.vision.efficient.plots import accuracy_vs_sparsity
from gymlab.vision.nn import optim


@dataclass
class CompressConfig(SupervisedConfig):
    steps: int = 1050  # dense_steps + len(sparsities) * retrain_steps + share_steps
    epochs: Optional[float] = None
    eval_every: int = 150
    optim: OptimConfig = group(OptimConfig, lr=2e-3)  # dense training
    retrain_lr: float = 1e-3  # retraining after each pruning step
    eval_batch: int = field(default=1000, metadata={"range": (1, None, "at least 1")})  # images per evaluation chunk
    width: int = 32  # channels of the first conv
    hidden: int = 128  # the fully connected layer
    dense_steps: int = 450  # minibatches of dense training
    sparsities: str = "0.5,0.8,0.9"  # the pruning schedule, increasing, each in [0, 1)
    scope: Literal["global", "layer"] = "global"  # one magnitude threshold for the network or one per layer
    retrain_steps: int = 150  # minibatches of retraining after each pruning step
    target_sparsity: float = 0.8  # the pruned model reported as eval/pruned_accuracy, then shared
    share_bits: int = 4  # weight sharing: 2^bits centroids per layer
    share_steps: int = field(default=150, metadata={"range": (1, None, "at least 1")})  # centroid fine-tuning minibatches
    share_lr: float = 1e-3  # the centroids' SGD step
    latency_batch: int = 256  # images per timed forward pass


@register("compress", data="digits", metric="eval/accuracy", select="eval/val_accuracy",
          description="pruning with retraining, k-means weight sharing, int8 quantization: size/latency/accuracy")
class Compress(Classifier):
    Config = CompressConfig
    counters = ("step", "masks", "shared", "snapshots")

    def build(self, cfg, shape, classes):
        try:
            self.levels = sorted(float(s) for s in cfg.sparsities.split(","))
        except ValueError:
            raise GymlabError(f"bad value for 'sparsities': {cfg.sparsities!r}; numbers in [0, 1) joined by commas") from None
        if cfg.target_sparsity not in self.levels or not all(0 <= s < 1 for s in self.levels):
            raise GymlabError(f"bad value for 'target_sparsity': {cfg.target_sparsity}; it must be one of sparsities "
                              f"({cfg.sparsities}), all in [0, 1)")
        self.total = cfg.dense_steps + len(self.levels) * cfg.retrain_steps + cfg.share_steps
        self.masks = self.shared = self.rows = None
        self.eval_batch = cfg.eval_batch  # the template's evaluation chunks
        self._phase = lambda step: C.schedule_phase(step, cfg.dense_steps, self.levels, cfg.retrain_steps)  # noqa: E731
        self.snapshots = {}  # phase -> state dict at its end; oneshot{s} -> test accuracy right after pruning
        self.make_net = lambda: C.DigitNet(cfg.width, cfg.hidden, num_classes=classes, image_size=shape[1], in_channels=shape[0])
        return self.make_net()

    def train_step(self):
        phase, level = self._phase(self.step)
        prev = self._phase(self.step - 1) if self.step > 0 else None
        if prev != (phase, level):  # a new phase: keep the model at the end of the last one
            if prev is not None:
                self.snapshots[prev[0] if prev[0] != "prune" else f"prune{prev[1]}"] = copy.deepcopy(self.model.state_dict())
            if phase == "prune":
                self.masks = C.magnitude_masks(self.model, level, self.cfg.scope)
                C.apply_masks(self.model, self.masks)
                self.snapshots[f"oneshot{level}"] = self.evaluate_split(self.test)["accuracy"]  # before retraining
                self.opt = optim.make_optimizer(self.model.parameters(), self.cfg.optim.name, self.cfg.retrain_lr)
            elif phase == "share":
                self.model.load_state_dict(self.snapshots[f"prune{self.cfg.target_sparsity}"])
                self.shared = C.kmeans_share(self.model, self.cfg.share_bits)
                self.snapshots["shared_before_finetune"] = self.evaluate_split(self.test)["accuracy"]
        return {**super().train_step(), "train/sparsity": C.sparsity(self.model)}

    def update(self):
        phase, _ = self._phase(self.step)
        if phase == "share":  # only the centroids move (BN statistics still update)
            return C.centroid_step(self.model, self.shared, self.cfg.share_lr)
        self.opt.step()
        if phase == "prune":
            C.apply_masks(self.model, self.masks)

    def evaluate(self):
        out, c = {**super().evaluate(), "eval/sparsity": C.sparsity(self.model)}, self.cfg
        if self.step >= self.total and self.rows is None:
            snaps = {**self.snapshots, "share": copy.deepcopy(self.model.state_dict())}
            self.rows = compression_table(self.make_net, snaps, self.levels, c.target_sparsity, self.shared, c.share_bits,
                                          c.scope, *self.test, self.train[0][:4 * c.eval_batch], c.latency_batch, c.eval_batch)
        return {**out, **{f"eval/{k}": v for k, v in headline(self.rows, c.target_sparsity).items()}} if self.rows else out

    def media(self):
        return {"compression_table": self.rows, "accuracy_vs_sparsity": accuracy_vs_sparsity(self.rows)} if self.rows else {}
