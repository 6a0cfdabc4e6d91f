"""`pca-autoencoder`: PCA against autoencoders on the digits' grey levels (generative.linear_autoencoder,
generative.clustering).

Side by side, at the same code size k: scikit-learn's PCA, a linear undercomplete autoencoder trained
with squared error (full-batch Adam), and a non-linear one (generative.autoencoder.Autoencoder, ReLU
hidden layer, sigmoid code and output) trained with the same squared error on minibatches. Every
train_step is one step of each autoencoder. Metrics: the principal angles between the linear
autoencoder's decoder subspace and PCA's (eval/max_angle_deg, near 0 when it has found PCA's
subspace; eval/max_angle_deg_init at its random start), the test squared error per image of the three
(eval/pca_error, eval/linear_ae_error, eval/nonlinear_ae_error), and k-means purity (10 clusters) on
pixels against the codes (eval/purity_pixels, eval/purity_pca, eval/purity_linear_ae,
eval/purity_nonlinear_ae)."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from gymlab.generative import clustering
from gymlab.generative import linear_autoencoder as LA
from gymlab.generative.autoencoder import Autoencoder
from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments._shared import batch_indices
from gymlab.runners.registry import register
from gymlab.vision.data.datasets import load_digits_split


@dataclass
class PCAAutoencoderConfig(RunConfig):
    steps: int = 1500
    eval_every: int = 1500
    data: str = "digits"
    code: int = 8  # k: PCA components = code units of both autoencoders
    lr_linear: float = 0.03  # full-batch Adam on the linear autoencoder
    lr: float = 3e-3  # minibatch Adam on the non-linear one
    batch_size: int = 64
    hidden: int = 128  # the non-linear autoencoder's hidden layer
    clusters: int = 10
    history_every: int = 25  # steps between the points of the angle curve


@register("pca-autoencoder", data="digits", metric="eval/max_angle_deg", mode="min",
          description="a linear autoencoder finds PCA's subspace; a non-linear one reconstructs better; k-means purity")
class PCAAutoencoder:
    Config = PCAAutoencoderConfig

    def setup(self, cfg, ctx):
        if cfg.data != "digits":
            raise GymlabError(f"bad value for 'data': {cfg.data!r}; valid: digits")
        if not 0 < cfg.code < 64:
            raise GymlabError(f"bad value for 'code': {cfg.code}; valid: 1..63 (the digits have 64 pixels)")
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        ds = load_digits_split(cfg.seed)
        self.xtr, self.xte = ds.train.x.to(ctx.device), ds.test.x.to(ctx.device)
        self.ytr, self.yte = ds.train.y, ds.test.y
        torch.manual_seed(cfg.seed)
        self.linear = LA.LinearAutoencoder(64, cfg.code).to(ctx.device)
        self.nonlinear = Autoencoder((1, 8, 8), latent=cfg.code, hidden=cfg.hidden).to(ctx.device)
        self.opt_linear = torch.optim.Adam(self.linear.parameters(), cfg.lr_linear)
        self.opt = torch.optim.Adam(self.nonlinear.parameters(), cfg.lr)
        tr, te = self.xtr.flatten(1).cpu().double().numpy(), self.xte.flatten(1).cpu().double().numpy()
        self.pca_error, self.components = LA.pca_reconstruction_error(tr, te, cfg.code)
        self.init_angle = self._max_angle()
        self.steps_per_epoch = 1  # full-batch for the linear one: a step is an epoch
        self.step, self.history = 0, []

    def _max_angle(self) -> float:
        return float(np.degrees(LA.principal_angles(self.linear.subspace(), self.components).max()))

    def train_step(self):
        loss_lin = LA.squared_error(self.linear, self.xtr)
        self.opt_linear.zero_grad(set_to_none=True)
        loss_lin.backward()
        self.opt_linear.step()
        idx = batch_indices(self.cfg.seed, self.step, len(self.xtr), self.cfg.batch_size).to(self.device)
        loss_nl = LA.squared_error(self.nonlinear, self.xtr[idx])
        self.opt.zero_grad(set_to_none=True)
        loss_nl.backward()
        self.opt.step()
        self.step += 1
        row = {"train/linear_ae_error": loss_lin.item(), "train/nonlinear_ae_error": loss_nl.item()}
        if self.step % self.cfg.history_every == 0 or self.step == 1:
            self.history.append({"step": self.step, "max_angle_deg": self._max_angle(), **row})
        return row

    @torch.no_grad()
    def _codes(self):
        te = self.xte.flatten(1).cpu().double().numpy()
        mean = self.xtr.flatten(1).cpu().double().numpy().mean(0)
        return {"pixels": te, "pca": (te - mean) @ self.components,
                "linear_ae": self.linear.encode(self.xte).cpu().numpy(),
                "nonlinear_ae": self.nonlinear.encode(self.xte).cpu().numpy()}

    @torch.no_grad()
    def evaluate(self):
        ang = np.degrees(LA.principal_angles(self.linear.subspace(), self.components))
        out = {"eval/max_angle_deg": float(ang.max()), "eval/mean_angle_deg": float(ang.mean()),
               "eval/max_angle_deg_init": self.init_angle, "eval/pca_error": self.pca_error,
               "eval/linear_ae_error": LA.squared_error(self.linear, self.xte).item(),
               "eval/nonlinear_ae_error": LA.squared_error(self.nonlinear, self.xte).item()}
        out["eval/nonlinear_over_pca"] = out["eval/nonlinear_ae_error"] / out["eval/pca_error"]
        y = self.yte.numpy()
        for name, z in self._codes().items():
            out[f"eval/purity_{name}"] = clustering.kmeans_purity(z, y, self.cfg.clusters, self.cfg.seed)
        return out

    @torch.no_grad()
    def media(self):
        k = self.cfg.code
        # PCA's components beside the linear autoencoder's decoder columns mapped onto them by least squares
        w = self.linear.subspace()
        aligned = w @ np.linalg.lstsq(w, self.components, rcond=None)[0]
        fig, axes = plt.subplots(2, k, figsize=(1.2 * k, 2.8), squeeze=False)
        for j in range(k):
            for r, (basis, name) in enumerate([(self.components, "PCA"), (aligned, "linear AE")]):
                v = basis[:, j].reshape(8, 8)
                axes[r, j].imshow(v, cmap="RdBu_r", vmin=-np.abs(v).max(), vmax=np.abs(v).max())
                axes[r, j].axis("off")
                if j == 0:
                    axes[r, j].set_title(name, fontsize=8, loc="left")
        fig.tight_layout()
        # reconstructions: test digits, PCA, linear AE, non-linear AE
        x = self.xte[:10]
        xf = x.flatten(1).cpu().double().numpy()
        mean = self.xtr.flatten(1).cpu().double().numpy().mean(0)
        rows = [("test digit", xf), ("PCA", (xf - mean) @ self.components @ self.components.T + mean),
                ("linear AE", self.linear(x).flatten(1).cpu().numpy()),
                ("non-linear AE", self.nonlinear(x).flatten(1).cpu().numpy())]
        fig2, axes2 = plt.subplots(4, 10, figsize=(10, 4.4))
        for r, (name, imgs) in enumerate(rows):
            for j in range(10):
                axes2[r, j].imshow(imgs[j].reshape(8, 8), cmap="gray", vmin=0, vmax=1)
                axes2[r, j].axis("off")
            axes2[r, 0].set_title(name, fontsize=8, loc="left")
        fig2.tight_layout()
        fig3, ax = plt.subplots(figsize=(4.5, 3))
        if self.history:
            ax.plot([h["step"] for h in self.history], [h["max_angle_deg"] for h in self.history])
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("largest principal angle (degrees)")
        ax.set_title("linear AE subspace against PCA's", fontsize=9)
        fig3.tight_layout()
        ev = self.evaluate()
        table = [{"representation": n, "kmeans_purity": ev[f"eval/purity_{n}"],
                  "test_squared_error": ev.get(f"eval/{n}_error", float("nan"))}
                 for n in ("pixels", "pca", "linear_ae", "nonlinear_ae")]
        return {"components": fig, "reconstructions": fig2, "angle_curve": fig3, "summary": table}

    def state_dict(self):
        return {"linear": self.linear.state_dict(), "nonlinear": self.nonlinear.state_dict(),
                "opt_linear": self.opt_linear.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                "history": list(self.history)}

    def load_state_dict(self, state):
        self.linear.load_state_dict(state["linear"])
        self.nonlinear.load_state_dict(state["nonlinear"])
        self.opt_linear.load_state_dict(state["opt_linear"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.history = state["step"], list(state["history"])
