"""`texture`, `style-transfer`, `deepdream`, `feature-inversion`: optimising an image's pixels against the
features of a seeded *random-filter* VGG-like network (vision.understand.style: why random filters), on
scikit-image's bundled photos. Every train_step is one step of ``optim`` on the pixels (clamped to
[0, 1]); eval/: the problem's metrics beside those of its start (vision.understand.style's *_task);
media: the result and a panel of the inputs and the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

from gymlab.runners.config import OptimConfig, RunConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.vision.nn.optim import make_optimizer
from gymlab.vision.understand import style as st

Photo = Literal[st.PHOTOS]


@dataclass
class ImageOptConfig(RunConfig):
    steps: int = 200
    eval_every: int = 50
    size: int = field(default=64, metadata={"range": (16, None, "at least 16")})  # photos are resized to size x size
    optim: OptimConfig = group(OptimConfig, lr=0.03)  # on pixel values in [0, 1]
    channels: list = field(default_factory=lambda: [32, 64, 128, 256])  # of the random network's stages


@dataclass
class TextureConfig(ImageOptConfig):
    style: Photo = "coffee"  # the texture's photo
    tv_weight: float = 0.02  # a little smoothness; the Gram loss alone leaves pixel noise


@dataclass
class StyleTransferConfig(ImageOptConfig):
    content: Photo = "astronaut"  # the photo whose layout is kept
    style: Photo = "coffee"  # the photo whose Gram statistics are painted on
    content_layer: int = 2  # the layer whose features the content loss compares
    content_weight: float = 1.0
    style_weight: float = 1.0
    tv_weight: float = 0.1  # total variation: smoothness


@dataclass
class DeepDreamConfig(ImageOptConfig):
    steps: int = 50
    eval_every: int = 25
    image: Photo = "chelsea"  # the photo dreamed on
    layer: int = 2  # the layer whose activations are amplified
    optim: OptimConfig = group(OptimConfig, lr=0.003)
    max_shift: int = 4  # random roll of the image at every step (jitter)


@dataclass
class FeatureInversionConfig(ImageOptConfig):
    image: Photo = "astronaut"  # the photo whose features are inverted
    layer: int = 2  # the layer whose features are matched
    tv_weight: float = 0.1  # total variation: smoothness


class ImageOptimization(Experiment):
    """Shared by the four: a frozen random network, the pixels (an nn.ParameterList, so checkpointed) and
    their optimiser; ``task`` builds the problem (a vision.understand.style.ImageTask)."""

    Config = ImageOptConfig
    image_key = "result"  # the media key of the result

    def setup(self, cfg, ctx):
        self.cfg = cfg
        photo = lambda name: st.load_photo(name, cfg.size).to(ctx.device)  # noqa: E731
        try:
            self.net = st.RandomConvNet(tuple(int(c) for c in cfg.channels), seed=cfg.seed).to(ctx.device)
            self.problem = self.task(cfg, photo)
            o = cfg.optim
            self.pixels = torch.nn.ParameterList([self.problem.start.detach().clone()])
            self.opt = make_optimizer(self.pixels.parameters(), o.name, o.lr, o.weight_decay, o.momentum)
        except ValueError as e:
            raise GymlabError(f"bad value for 'channels', 'layer' or 'content_layer': {e}") from None
        self.step = 0

    def train_step(self):
        shift = st.jitter(self.pixels[0], self.step, getattr(self.cfg, "max_shift", 0), self.cfg.seed)
        loss = st.image_step(self.pixels[0], self.opt, self.problem.objective, shift)
        self.step += 1
        return {"train/loss": loss}

    @torch.no_grad()
    def evaluate(self):
        return {f"eval/{k}": v for k, v in self.problem.metrics(self.pixels[0]).items()}

    def media(self):
        x, p = self.pixels[0], self.problem
        return {self.image_key: st.to_numpy_image(x), "panel": st.draw_strip({**p.shown, p.result: x})}


@register("texture", data="skimage photos", metric="eval/style_loss", mode="min",
          description="Gram-matrix texture synthesis from noise (random-filter conv net)")
class Texture(ImageOptimization):
    Config, image_key = TextureConfig, "texture"

    def task(self, cfg, photo):
        return st.texture_task(self.net, photo(cfg.style), cfg.tv_weight, cfg.seed)


@register("style-transfer", data="skimage photos", metric="eval/loss", mode="min",
          description="neural style transfer: content + Gram style + total variation (random-filter conv net)")
class StyleTransfer(ImageOptimization):
    Config, image_key = StyleTransferConfig, "stylised"

    def task(self, cfg, photo):
        return st.transfer_task(self.net, photo(cfg.content), photo(cfg.style), cfg.content_layer, cfg.content_weight,
                                cfg.style_weight, cfg.tv_weight)


@register("deepdream", data="skimage photos", metric="eval/activation_norm", mode="max",
          description="DeepDream: jittered gradient ascent on a layer's activations (random-filter conv net)")
class DeepDream(ImageOptimization):
    Config, image_key = DeepDreamConfig, "dream"

    def task(self, cfg, photo):
        return st.dream_task(self.net, photo(cfg.image), cfg.layer)


@register("feature-inversion", data="skimage photos", metric="eval/feature_error", mode="min",
          description="feature inversion: an image whose layer features match a photo's (random-filter conv net)")
class FeatureInversion(ImageOptimization):
    Config, image_key = FeatureInversionConfig, "reconstruction"

    def task(self, cfg, photo):
        return st.inversion_task(self.net, photo(cfg.image), cfg.layer, cfg.tv_weight, cfg.seed)
