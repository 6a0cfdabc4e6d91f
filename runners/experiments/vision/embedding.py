"""`embedding`: a trained digits classifier's penultimate features of the test images, reduced to 2-D
with PCA and t-SNE (scikit-learn's), coloured by class, beside the same reductions of the raw pixels
(vision.understand.embedding). How well the classes separate on each set of 2-D points is scored by the
leave-one-out k-NN accuracy and the silhouette: eval/{feature,pixel}_{pca,tsne}_{knn,silhouette}.
The headline, eval/feature_tsne_knn, against eval/pixel_tsne_knn."""
from __future__ import annotations

from dataclasses import dataclass

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

    def points(self):
        """{(space, method): (N, 2) points} for the test images, computed once per trained state."""
        if getattr(self, "_cache", (None,))[0] != self.step:
            self.net.eval()
            x = self.test[0]
            spaces = {"pixel": x.flatten(1).cpu(), "feature": E.penultimate(self.net, x)}
            self._cache = (self.step, E.embed_spaces(spaces, self.cfg.seed, self.cfg.perplexity))
        return self._cache[1]

    def evaluate(self):
        y, k = self.test[1].cpu().numpy(), self.cfg.k
        return {**super().evaluate(), **{f"eval/{space}_{method}_{key}": v for (space, method), z in self.points().items()
                                         for key, v in E.separation(z, y, k).items()}}

    def media(self):
        return {"embedding": E.draw_embeddings(self.points(), self.test[1].cpu().numpy(), self.cfg.k)}
