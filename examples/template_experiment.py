"""Your own supervised experiment on the supervised template: give a model and a loss, nothing else.

    gymlab --plugin examples/template_experiment.py run my-mlp hidden=256 lr=0.01 epochs=5
    python examples/template_experiment.py [--epochs 5]        # the same run from Python

The template (gymlab.runners.templates.supervised) loads ``data.name`` (digits by default), batches
with a resumable shuffle fixed by seed and epoch, builds the optimiser and schedule from ``optim.*``,
evaluates ``loss`` on the test and validation splits, and gathers the checkpoint.
"""
import argparse
from dataclasses import dataclass

import torch.nn.functional as F

import gymlab
from gymlab.runners.templates.supervised import Supervised, SupervisedConfig
from gymlab.vision.classify.mlp import MLP


@dataclass
class MyConfig(SupervisedConfig):
    hidden: int = 128  # width of the hidden layer


@gymlab.register("my-mlp", data="digits", metric="eval/accuracy", select="eval/val_accuracy",
                 description="a one-hidden-layer MLP on the supervised template (examples/template_experiment.py)")
class MyMLP(Supervised):
    Config = MyConfig

    def build(self, cfg, shape, classes):  # the model; the optimiser comes from optim.*
        return MLP(shape[0] * shape[1] * shape[2], [cfg.hidden], classes)

    def loss(self, model, batch):  # a minibatch -> loss, metrics
        x, y = batch
        scores = model(x)
        return F.cross_entropy(scores, y), {"accuracy": (scores.argmax(1) == y).float().mean()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=float, default=5)
    args = ap.parse_args()
    summary = gymlab.run("my-mlp", [f"epochs={args.epochs}", "lr=0.01", "progress=false"])
    print(f"test accuracy {summary['eval/accuracy']:.3f} after {args.epochs:g} epochs; run folder {summary['run_dir']}")
