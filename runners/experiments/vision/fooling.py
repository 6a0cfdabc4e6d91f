"""`fooling-images`: start from a test digit of class A that the trained classifier gets right and ascend
the score of a target class B (normalised-gradient steps, pixels kept in [0, 1]) until the net says B
with probability >= ``confidence`` (vision.fooling). Every ordered pair (A, B), A != B, is tried with
``per_class`` images of A. Metrics: eval/success_rate (pairs fooled within ``max_steps``), the
perturbation's size (eval/mean_l2, eval/max_l2, eval/mean_linf, eval/mean_relative_l2 = ||δ|| / ||x||),
and, for scale, eval/mean_l2_to_nearest_b: the L2 distance from each start image to the nearest
training image of class B, which a change that made the image *look* like a B would need to cover, and
eval/pixel_nn_still_a, how often the fooled image's nearest training digit in pixel space is still an A."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments.vision._digits import DigitsClassifier, DigitsClassifierConfig
from gymlab.runners.registry import register
from gymlab.vision.understand.fooling import fooling_images


@dataclass
class FoolingConfig(DigitsClassifierConfig):
    confidence: float = 0.9  # softmax probability of B that counts as fooled
    step: float = 0.05  # L2 length of each ascent step (the image has L2 norm about 3)
    max_steps: int = 300
    per_class: int = 1  # start images per class A (each tried against the nine other classes)


@register("fooling-images", data="digits", metric="eval/success_rate",
          description="fooling images: ascend class B's score from a class-A digit until the net says B")
class FoolingImages(DigitsClassifier):
    Config = FoolingConfig

    def setup(self, cfg, ctx):
        if not 0 < cfg.confidence < 1 or cfg.step <= 0 or cfg.max_steps < 1 or cfg.per_class < 1:
            raise GymlabError("bad value for 'confidence', 'step', 'max_steps' or 'per_class': need 0 < confidence "
                              f"< 1, step > 0, max_steps >= 1, per_class >= 1; got {cfg.confidence}, {cfg.step}, "
                              f"{cfg.max_steps}, {cfg.per_class}")
        super().setup(cfg, ctx)

    @torch.no_grad()
    def _pairs(self):
        """Start images (first correctly classified test images of each class), their class A and target B."""
        self.net.eval()
        right = self.net(self.xte).argmax(1) == self.yte
        starts = []
        for a in range(10):
            idx = torch.nonzero(right & (self.yte == a)).flatten()[:self.cfg.per_class]
            if len(idx) < self.cfg.per_class:
                raise GymlabError(f"fewer than per_class={self.cfg.per_class} correctly classified test images of "
                                  f"class {a}; train longer or lower per_class")
            starts += idx.tolist()
        src = torch.tensor([i for i in starts for _ in range(9)], device=self.device)
        a = self.yte[src]
        b = torch.stack([torch.tensor([c for c in range(10) if c != int(k)]) for k in a[::9]]).flatten().to(self.device)
        return src, a, b

    def fool(self):
        if getattr(self, "_cache", (None,))[0] != self.step:
            src, a, b = self._pairs()
            self.net.eval()
            res = fooling_images(self.net, self.xte[src], b, self.cfg.confidence, self.cfg.step, self.cfg.max_steps)
            self._cache = (self.step, (src, a, b, res))
        return self._cache[1]

    def evaluate(self):
        src, a, b, r = self.fool()
        x = self.xte[src].flatten(1)
        nearest_b = torch.stack([torch.cdist(x[i:i + 1], self.xtr[self.ytr == b[i]].flatten(1)).min()
                                 for i in range(len(src))])
        # a pixel-space judge: the fooled image's nearest training digit still has the start's class A
        nn_label = self.ytr[torch.cdist(r.images.flatten(1), self.xtr.flatten(1)).argmin(1)]
        with torch.no_grad():
            self.net.eval()
            says = self.net(r.images).argmax(1)
        ok = r.success
        return {"eval/accuracy": self.accuracy(self.xte, self.yte), "eval/success_rate": float(ok.float().mean()),
                "eval/pairs": len(src), "eval/says_target": float((says == b).float().mean()),
                "eval/mean_l2": float(r.l2[ok].mean()) if ok.any() else float("nan"),
                "eval/max_l2": float(r.l2[ok].max()) if ok.any() else float("nan"),
                "eval/mean_linf": float(r.linf[ok].mean()) if ok.any() else float("nan"),
                "eval/mean_relative_l2": float(r.relative[ok].mean()) if ok.any() else float("nan"),
                "eval/mean_steps": float(r.steps.float().mean()),
                "eval/pixel_nn_still_a": float((nn_label[ok] == a[ok]).float().mean()) if ok.any() else float("nan"),
                "eval/mean_l2_to_nearest_b": float(nearest_b.mean())}

    def media(self):
        src, a, b, r = self.fool()
        x0, x1 = self.xte[src].cpu(), r.images.cpu()
        # one start image per class (the first), its nine fooled versions and their perturbations
        fig, axes = plt.subplots(10, 10, figsize=(10, 10.5))
        for A in range(10):
            rows = torch.nonzero(a.cpu() == A).flatten()[:9]
            axes[A, 0].imshow(x0[rows[0], 0], cmap="gray", vmin=0, vmax=1)
            axes[A, 0].set_title(f"{A} (start)", fontsize=7)
            for j, i in enumerate(rows.tolist()):
                ax = axes[A, j + 1]
                ax.imshow(x1[i, 0], cmap="gray", vmin=0, vmax=1)
                ax.set_title(f"-> {int(b[i])}: p {float(r.confidence[i]):.2f}", fontsize=6)
            for ax in axes[A]:
                ax.axis("off")
        fig.suptitle("fooling images: each row starts from one digit and is classified as every other digit",
                     fontsize=9)
        fig.tight_layout()
        lim = float((x1 - x0).abs().max())
        fig2, axes2 = plt.subplots(3, 10, figsize=(10, 3.4))
        for A in range(10):
            i = int(torch.nonzero(a.cpu() == A).flatten()[(A + 1) % 9])  # a different target in each column
            for r_, (img, kw, title) in enumerate([(x0[i, 0], dict(cmap="gray", vmin=0, vmax=1), f"{A}"),
                                                   (x1[i, 0] - x0[i, 0], dict(cmap="RdBu_r", vmin=-lim, vmax=lim),
                                                    f"δ: |δ|={float(r.l2[i]):.2f}"),
                                                   (x1[i, 0], dict(cmap="gray", vmin=0, vmax=1), f"says {int(b[i])}")]):
                axes2[r_, A].imshow(img, **kw)
                axes2[r_, A].set_title(title, fontsize=7)
                axes2[r_, A].axis("off")
        fig2.tight_layout()
        hist, ax = plt.subplots(figsize=(4.5, 3))
        ax.hist(r.l2.cpu().numpy(), bins=20, alpha=0.7, label="||δ|| of the fooling images")
        ax.axvline(float(self.evaluate()["eval/mean_l2_to_nearest_b"]), color="k", ls="--",
                   label="mean distance to the nearest real B")
        ax.set_xlabel("L2 norm (pixels in [0, 1])")
        ax.legend(fontsize=7)
        hist.tight_layout()
        return {"fooling_images": fig, "perturbations": fig2, "perturbation_norms": hist}
