"""`pca-autoencoder`: at code size k, PCA against a linear autoencoder (squared error, full-batch Adam: a step
is an epoch) and a non-linear one on the grey digits. Keys: eval/<key> for generative.linear_autoencoder
.comparison's, eval/max_angle_deg_init; media components, reconstructions, angle_curve, summary."""
from dataclasses import dataclass, field
from typing import Literal, Optional

import torch

from gymlab.generative import linear_autoencoder as LA
from gymlab.generative.autoencoder import Autoencoder
from gymlab.runners.config import DataConfig, OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.supervised import Supervised, SupervisedConfig


@dataclass
class DigitsData(DataConfig):
    name: Literal["digits"] = "digits"  # scikit-learn's 8x8 digits, 16 grey levels


@dataclass
class PCAAutoencoderConfig(SupervisedConfig):
    steps: int = 1500
    epochs: Optional[float] = None  # budget in full-batch steps (None: steps)
    eval_every: int = 1500
    data: DigitsData = group(DigitsData)
    optim: OptimConfig = group(OptimConfig, lr=3e-3)  # minibatch Adam on the non-linear autoencoder
    code: int = field(default=8, metadata={"range": (1, 63, "1..63 (the digits have 64 pixels)")})  # k
    lr_linear: float = 0.03  # full-batch Adam on the linear autoencoder
    hidden: int = 128  # the non-linear autoencoder's hidden layer
    clusters: int = 10  # of k-means
    history_every: int = 25  # steps between the points of the angle curve


@register("pca-autoencoder", data="digits", metric="eval/max_angle_deg", mode="min",
          description="a linear autoencoder finds PCA's subspace; a non-linear one reconstructs better; k-means purity")
class PCAAutoencoder(Supervised):
    Config = PCAAutoencoderConfig
    counters = ("step", "history")

    @property
    def net(self) -> Autoencoder:  # the non-linear autoencoder, without a data-parallel wrapper
        return getattr(self.model, "module", self.model)

    def build(self, cfg, shape, classes):
        self.linear = LA.LinearAutoencoder(64, cfg.code)  # drawn first from the seeded RNG
        return Autoencoder(shape, latent=cfg.code, hidden=cfg.hidden)

    def loss(self, model, batch):
        return LA.squared_error(model, batch[0]), {}

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        self.opt_linear = torch.optim.Adam(self.linear.to(self.device).parameters(), cfg.lr_linear)
        x = [s[0].flatten(1).cpu().double().numpy() for s in (self.train, self.test)]
        self.components = LA.pca_reconstruction_error(*x, cfg.code)[1]
        self.steps_per_epoch, self.history = 1, []
        self.init_angle = LA.max_angle_deg(self.linear.subspace(), self.components)

    def train_step(self):  # one full-batch step of the linear autoencoder, the template's of the other
        loss = LA.squared_error(self.linear, self.train[0])
        self.opt_linear.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_linear.step()
        row = super().train_step()
        if self.step % self.cfg.history_every == 0 or self.step == 1:
            self.history.append((self.step, LA.max_angle_deg(self.linear.subspace(), self.components)))
        return {**row, "train/linear_ae_error": loss.item(), "train/nonlinear_ae_error": row["train/loss"]}

    def measures(self) -> dict:
        return LA.comparison(self.linear, self.net, self.train[0], self.test[0], self.test[1], self.components,
                             self.cfg.clusters, self.cfg.seed)

    def evaluate(self):
        return {"eval/max_angle_deg_init": self.init_angle, **{f"eval/{k}": v for k, v in self.measures().items()}}

    def media(self):
        return LA.comparison_figures(self.linear, self.net, self.train[0], self.test[0], self.components, (8, 8),
                                     self.history, self.measures())
