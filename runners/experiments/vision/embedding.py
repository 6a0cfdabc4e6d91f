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
            spaces = {"pixel": self.test[0].flatten(1).cpu(), "feature": E.penultimate(self.net, self.test[0])}
            self._cache = (self.step, E.embed_spaces(spaces, self.cfg.seed, self.cfg.perplexity))
        return self._cache[1]

    def evaluate(self):
        y, out = self.test[1].cpu().numpy(), super().evaluate()
        for (space, method), z in self.points().items():
            out.update({f"eval/{space}_{method}_{key}": v for key, v in E.separation(z, y, self.cfg.k).items()})
        return out

    def media(self):
        return {"embedding": E.draw_embeddings(self.points(), self.test[1].cpu().numpy(), self.cfg.k)}
