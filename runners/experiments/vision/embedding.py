"""`embedding`: a trained digits classifier's penultimate features of the test images, reduced to 2-D
with PCA and t-SNE (scikit-learn's), coloured by class, beside the same reductions of the raw pixels
(vision.embedding). How well the classes separate on each set of 2-D points is scored by the
leave-one-out k-NN accuracy and the silhouette: eval/{feature,pixel}_{pca,tsne}_{knn,silhouette}.
The headline, eval/feature_tsne_knn, against eval/pixel_tsne_knn."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt

from gymlab.runners.experiments.vision._digits import DigitsClassifier, DigitsClassifierConfig
from gymlab.runners.registry import register
from gymlab.vision.understand import embedding as E


@dataclass
class EmbeddingConfig(DigitsClassifierConfig):
    k: int = 5  # neighbours of the k-NN score
    perplexity: float = 30.0  # t-SNE


@register("embedding", data="digits", metric="eval/feature_tsne_knn",
          description="PCA and t-SNE of penultimate features against raw pixels, coloured by class")
class Embedding(DigitsClassifier):
    Config = EmbeddingConfig

    def _points(self):
        """{(space, method): (N, 2) points} for the test images, computed once per trained state."""
        if getattr(self, "_cache", (None,))[0] != self.step:
            self.net.eval()
            spaces = {"pixel": self.xte.flatten(1).cpu(), "feature": E.penultimate(self.net, self.xte)}
            pts = {(s, m): E.reduce_2d(v, m, self.cfg.seed, self.cfg.perplexity)
                   for s, v in spaces.items() for m in E.METHODS}
            self._cache = (self.step, pts)
        return self._cache[1]

    def evaluate(self):
        out = {"eval/accuracy": self.accuracy(self.xte, self.yte),
               "eval/val_accuracy": self.accuracy(self.xva, self.yva)}
        y = self.yte.cpu().numpy()
        for (space, method), z in self._points().items():
            for key, v in E.separation(z, y, self.cfg.k).items():
                out[f"eval/{space}_{method}_{key}"] = v
        return out

    def media(self):
        pts, y = self._points(), self.yte.cpu().numpy()
        fig, axes = plt.subplots(2, 2, figsize=(9, 8.4))
        for r, method in enumerate(E.METHODS):
            for c, space in enumerate(("pixel", "feature")):
                z, ax = pts[(space, method)], axes[r, c]
                sc = ax.scatter(z[:, 0], z[:, 1], c=y, cmap="tab10", s=7, vmin=-0.5, vmax=9.5)
                s = E.separation(z, y, self.cfg.k)
                ax.set_title(f"{method.upper() if method == 'pca' else 't-SNE'} of {space}s: "
                             f"{self.cfg.k}-NN {s['knn']:.2f}, silhouette {s['silhouette']:.2f}", fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
        fig.colorbar(sc, ax=axes, ticks=range(10), shrink=0.6, label="digit")
        return {"embedding": fig}
