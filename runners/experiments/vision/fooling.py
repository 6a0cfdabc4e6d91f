"""`fooling-images`: start from a test digit of class A that the trained classifier gets right and ascend
the score of a target class B until the net says B with probability >= ``confidence``
(vision.understand.fooling), for every ordered pair (A, B), A != B, with ``per_class`` images of A.
Metrics: eval/success_rate, the perturbation's size (eval/mean_l2, eval/max_l2, eval/mean_linf,
eval/mean_relative_l2 = ||δ|| / ||x||) and, for scale, eval/mean_l2_to_nearest_b (from each start image
to the nearest training image of class B: what a change that made it *look* like a B would cover) and
eval/pixel_nn_still_a (how often a fooled image's nearest training digit in pixel space is still an A)."""
from __future__ import annotations

from dataclasses import dataclass, field

from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments.vision._digits import AT_LEAST_1, DigitsClassifier, DigitsClassifierConfig
from gymlab.runners.registry import register
from gymlab.vision.understand import fooling as F

OPEN_UNIT, POSITIVE = {"range": (1e-9, 1 - 1e-9, "in (0, 1)")}, {"range": (1e-12, None, "greater than 0")}


@dataclass
class FoolingConfig(DigitsClassifierConfig):
    confidence: float = field(default=0.9, metadata=OPEN_UNIT)  # softmax probability of B that counts as fooled
    step: float = field(default=0.05, metadata=POSITIVE)  # L2 length of an ascent step (an image's L2 norm: about 3)
    max_steps: int = field(default=300, metadata=AT_LEAST_1)  # ascent steps before a pair counts as failed
    per_class: int = field(default=1, metadata=AT_LEAST_1)  # start images per class A (each against the 9 others)


@register("fooling-images", data="digits", metric="eval/success_rate",
          description="fooling images: ascend class B's score from a class-A digit until the net says B")
class FoolingImages(DigitsClassifier):
    Config = FoolingConfig

    def fool(self):
        """(start images, A, B, vision.understand.fooling.Fooled), computed once per trained state."""
        if getattr(self, "_cache", (None,))[0] != self.step:
            self.net.eval()
            c = self.cfg
            try:
                self._cache = (self.step, F.fool_all_pairs(self.net, *self.test, c.per_class, c.confidence, c.step,
                                                           c.max_steps))
            except ValueError as e:
                raise GymlabError(f"{e}; train longer or lower per_class") from None
        return self._cache[1]

    def evaluate(self):
        self.net.eval()
        found = F.fooling_metrics(self.net, *self.fool(), *self.train)
        return {**super().evaluate(), **{f"eval/{k}": v for k, v in found.items()}}

    def media(self):
        figs = F.draw_fooling(*self.fool(), self.evaluate()["eval/mean_l2_to_nearest_b"])
        return dict(zip(("fooling_images", "perturbations", "perturbation_norms"), figs))
