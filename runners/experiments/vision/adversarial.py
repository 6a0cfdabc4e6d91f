"""`fgsm`: fast gradient sign adversarial examples against a digits classifier, accuracy against epsilon,
and adversarial training. Two copies of one backbone train side by side from one initialisation on the
same minibatches, one on clean digits, one on the clean + FGSM mix (vision.understand.adversarial's
AdversarialPair: one Adam over both makes the same updates as two). ``data=mnist`` (or another image
set) sizes the backbone; evaluation runs in chunks of ``eval_batch`` images. Keys: eval/accuracy,
eval/fgsm_accuracy, eval/adv_trained_(clean_)accuracy, eval/fgsm_drop, eval/recovered."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from gymlab.runners.config import OptimConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.templates.supervised import Supervised, SupervisedConfig
from gymlab.vision.nn.backbones import BACKBONES, build
from gymlab.vision.understand import adversarial_plots as plots
from gymlab.vision.understand.adversarial import AdversarialPair, accuracy_under_attack


@dataclass
class FGSMConfig(SupervisedConfig):
    steps: int = 600
    epochs: Optional[float] = None
    eval_every: int = 200
    optim: OptimConfig = group(OptimConfig, lr=2e-3)
    eval_batch: int = field(default=1000, metadata={"range": (1, None, "at least 1")})  # images per evaluation chunk
    backbone: Literal[tuple(BACKBONES)] = "vgg"  # the classifier attacked
    width: int = 32  # vgg: channels of the first stage
    epsilon: float = 0.15  # the attack of the headline metrics (pixels are in [0, 1])
    train_epsilon: float = 0.15  # the attack used while adversarially training
    alpha: float = 0.5  # weight of the clean loss in adversarial training
    epsilons: str = "0,0.02,0.05,0.1,0.15,0.2,0.3"  # the accuracy-against-epsilon curve


@register("fgsm", data="digits", metric="eval/adv_trained_accuracy", select="eval/val_adv_trained_accuracy",
          description="FGSM adversarial examples on digits: accuracy vs epsilon, adversarial training")
class FGSM(Supervised):
    Config = FGSMConfig

    def build(self, cfg, shape, classes):
        try:
            self.epsilons = [float(e) for e in cfg.epsilons.split(",")]
        except ValueError:
            raise GymlabError(f"bad value for 'epsilons': {cfg.epsilons!r}; expected numbers joined by commas") from None
        w = cfg.width  # vgg: two small stages
        kw = dict(widths=(w, 2 * w), convs=(1, 1), hidden=128, dropout=0.0) if cfg.backbone == "vgg" else {}
        return AdversarialPair(build(cfg.backbone, shape[0], shape[1], classes, **kw), cfg.train_epsilon, cfg.alpha)

    def loss(self, model, batch):
        std, adv = model(*batch)
        return std + adv, {"loss": std, "adv_loss": adv}

    def _accuracy(self, name, split, epsilon):
        self.model.eval()
        pair = getattr(self.model, "module", self.model)  # DistributedDataParallel wraps it
        return accuracy_under_attack(getattr(pair, name), *split, epsilon, self.cfg.eval_batch)

    def evaluate(self):
        e, a = self.cfg.epsilon, self._accuracy
        out = {"eval/accuracy": a("std", self.test, 0), "eval/fgsm_accuracy": a("std", self.test, e),
               "eval/adv_trained_clean_accuracy": a("adv", self.test, 0), "eval/adv_trained_accuracy": a("adv", self.test, e),
               "eval/val_adv_trained_accuracy": a("adv", self.val, e)}
        drop = out["eval/fgsm_drop"] = out["eval/accuracy"] - out["eval/fgsm_accuracy"]
        gain = out["eval/adv_trained_accuracy"] - out["eval/fgsm_accuracy"]
        return {**out, "eval/recovered": gain / drop if drop > 0 else float("nan")}

    def media(self):
        curves = {k: [self._accuracy(m, self.test, e) for e in self.epsilons]
                  for k, m in (("standard", "std"), ("adversarially_trained", "adv"))}
        table = [{"epsilon": e, **{k: c[i] for k, c in curves.items()}} for i, e in enumerate(self.epsilons)]
        return {"accuracy_vs_epsilon": plots.accuracy_vs_epsilon(self.epsilons, curves), "accuracy_vs_epsilon_table": table,
                "examples": plots.examples(getattr(self.model, "module", self.model).std, *self.test, self.cfg.epsilon)}
