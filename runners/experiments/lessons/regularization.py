"""Lesson 4, ``regularization``: one two-layer ReLU net per regulariser (L2 strengths, dropout, max-norm,
DropConnect, random crops; vision.nn.regularizers) from the same weights, on a small training set with
some wrong labels: an unregularised net memorises them (a big gap), a regularised one cannot and
generalises better (with ``label_noise=0`` digits is too easy: every gap is small; ``data=mnist``:
``train_size`` MNIST images, crops of the 28x28 image). Keys:
``eval/<variant>/gap`` (train - validation accuracy), ``loss_gap`` (validation - training data loss);
the ``verdicts`` table reads them as the notes do (regularizers.verdict)."""
from dataclasses import dataclass, field

from gymlab.runners.config import OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.race import Race, RaceConfig, accuracy, data_loss, names
from gymlab.vision.classify.mlp import MLP
from gymlab.vision.nn.curves import bars_figure
from gymlab.vision.nn.regularizers import apply_max_norm_, l2_penalty, verdict, with_dropconnect


@dataclass
class RegularizationConfig(RaceConfig):
    steps: int = 300
    eval_every: int = 100
    train_size: int = 300  # a small training set ...
    label_noise: float = 0.3  # ... with this fraction of wrong labels, which only an overfitting net learns
    depth: int = 2  # hidden layers
    width: int = 256  # units per hidden layer
    l2: str = "0,0.003,0.01,0.03,0.1"  # strengths of reg * sum(W^2) added to the loss; 0 is the baseline
    dropout: str = "0.5"  # dropout rates (0 or empty entries skipped)
    max_norm: float = 0.5  # a max-norm variant with this bound; 0 to skip
    dropconnect: float = 0.5  # a DropConnect variant with this drop rate; 0 to skip
    crop: int = field(default=1, metadata={"range": (0, None, "0 or more")})  # random crops shifted up to this many pixels; 0 to skip
    batch_size: int = 32
    optim: OptimConfig = group(OptimConfig, name="momentum", lr=0.02)


@register("regularization", data="digits", select="eval/val_accuracy",
          description="L2, dropout, max-norm, DropConnect, random crops against the train/validation gap (small, noisy train set)")
class Regularization(Race):
    Config = RegularizationConfig
    title = "regularisers"

    def variants(self, cfg):
        v = {"none" if r == 0 else f"l2={r:g}": {"l2": r} for r in names(cfg.l2, "l2", cast=float)}
        v.update({f"dropout={p:g}": {"dropout": p} for p in names(cfg.dropout, "dropout", float, empty=True) if p > 0})
        for key, value in (("max_norm", cfg.max_norm), ("dropconnect", cfg.dropconnect), ("crop", cfg.crop)):
            if value > 0:
                v[f"{key}={value:g}"] = {key: value}
        return v

    def build(self, cfg, name, r):
        net = MLP(self.data.features, (cfg.width,) * cfg.depth, self.data.classes, activation="relu", init="he",
                  dropout=r.get("dropout", 0.0))
        self.after_step(name, net)  # max-norm from the start
        return with_dropconnect(net, r["dropconnect"]) if "dropconnect" in r else net

    def loss(self, name, model, x, y):
        r = self.specs[name]
        x = self.data.augment(x, r["crop"]) if "crop" in r else x
        return super().loss(name, model, x, y) + (r["l2"] * l2_penalty(model) if r.get("l2") else 0)

    def after_step(self, name, model):
        if "max_norm" in self.specs[name]:
            apply_max_norm_(model, self.specs[name]["max_norm"])

    def extra_eval(self):
        d, tr = self.data, self.train_rows()
        return {k: v for n, m in self.models.items() if not self.diverged[n] for k, v in (
            (f"eval/{n}/gap", accuracy(m, *tr) - accuracy(m, d.xva, d.yva)),
            (f"eval/{n}/loss_gap", data_loss(m, d.xva, d.yva) - data_loss(m, *tr)))}

    def media(self):
        rows = [{**r, "verdict": verdict(r["train_accuracy"], r["gap"], self.cfg.label_noise)} if "gap" in r else r
                for r in self.table()]
        ok, title = [r for r in rows if "gap" in r], f"train/validation gap ({self.cfg.label_noise:.0%} wrong labels)"
        fig = bars_figure([r["variant"] for r in ok], {title: {k: [r[f"{k}_accuracy"] for r in ok] for k in ("train", "val")}},
                          ylim=(0, 1.01), ylabel="accuracy")
        return {"gap": fig, "loss": self.loss_figure(), "verdicts": rows}
