"""`texture`, `style-transfer`, `deepdream`, `feature-inversion`: optimising an image's pixels against the
features of a convolutional network (vision.style), on scikit-image's bundled photos.

The network is a seeded *random-filter* VGG-like stack (vision.style.RandomConvNet), not a pretrained
one: no weights can be downloaded here, and random filters are known to give good Gram-matrix textures
(Ustyuzhaninov et al. 2017; He, Wang & Hopcroft 2016). Style transfer and inversion work as in the
notes; DeepDream amplifies random-filter patterns (textures), not ImageNet's objects. Every train_step
is one Adam step on the pixels (clamped to [0, 1]); media: the inputs and the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.understand import style as st


@dataclass
class ImageOptConfig(RunConfig):
    steps: int = 200
    eval_every: int = 50
    size: int = 64  # the photos are resized to size x size
    lr: float = 0.03  # Adam on pixel values in [0, 1]
    channels: list = field(default_factory=lambda: [32, 64, 128, 256])  # of the random network's stages


@dataclass
class TextureConfig(ImageOptConfig):
    style: str = "coffee"
    tv_weight: float = 0.02  # a little smoothness; the Gram loss alone leaves pixel noise


@dataclass
class StyleTransferConfig(ImageOptConfig):
    content: str = "astronaut"
    style: str = "coffee"
    content_layer: int = 2
    content_weight: float = 1.0
    style_weight: float = 1.0
    tv_weight: float = 0.1


@dataclass
class DeepDreamConfig(ImageOptConfig):
    steps: int = 50
    eval_every: int = 25
    image: str = "chelsea"
    layer: int = 2
    lr: float = 0.003
    max_shift: int = 4  # random roll of the image at every step (jitter)


@dataclass
class FeatureInversionConfig(ImageOptConfig):
    image: str = "astronaut"
    layer: int = 2
    tv_weight: float = 0.1


def _img(x: torch.Tensor):
    return x[0].detach().permute(1, 2, 0).clamp(0, 1).cpu().numpy()


class ImageOptimization(Experiment):
    """Shared by the four: a frozen random network, the pixels x, their Adam, and an objective."""

    Config = ImageOptConfig

    def setup(self, cfg, ctx):
        for key in ("style", "content", "image"):
            name = getattr(cfg, key, None)
            if name is not None and name not in st.PHOTOS:
                raise GymlabError(f"bad value for {key!r}: {name!r}; valid: {', '.join(st.PHOTOS)}")
        if cfg.size < 16 or not cfg.channels:
            raise GymlabError(f"bad value for 'size' or 'channels': size must be >= 16 and channels non-empty, "
                              f"got size={cfg.size}, channels={list(cfg.channels)}")
        for key in ("layer", "content_layer"):
            layer = getattr(cfg, key, None)
            if layer is not None and not 0 <= layer < len(cfg.channels):
                raise GymlabError(f"bad value for {key!r}: {layer}; valid: 0..{len(cfg.channels) - 1}")
        self.cfg, self.device = cfg, ctx.device
        self.net = st.RandomConvNet(tuple(int(c) for c in cfg.channels), seed=cfg.seed).to(ctx.device)
        self.photo = lambda name: st.load_photo(name, cfg.size).to(ctx.device)  # noqa: E731
        x0 = self.build(cfg)
        self.start = x0.detach().clone()
        self.x = x0.detach().clone().requires_grad_(True)
        self.opt = torch.optim.Adam([self.x], lr=cfg.lr)
        self.step = 0

    def train_step(self):
        shift = st.jitter(self.x, self.step, getattr(self.cfg, "max_shift", 0), self.cfg.seed)
        loss = st.image_step(self.x, self.opt, self.objective, shift)
        self.step += 1
        return {"train/loss": loss}

    def state_dict(self):
        return {"x": self.x.detach().cpu().clone(), "opt": self.opt.state_dict(), "step": self.step}

    def load_state_dict(self, state):
        with torch.no_grad():
            self.x.copy_(state["x"].to(self.device))
        self.opt.load_state_dict(state["opt"])
        self.step = state["step"]

    def _strip(self, named: dict):
        fig, axes = plt.subplots(1, len(named), figsize=(2.6 * len(named), 2.9))
        for ax, (title, im) in zip(axes, named.items()):
            ax.imshow(_img(im))
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        fig.tight_layout()
        return fig


@register("texture", data="skimage photos", metric="eval/style_loss", mode="min",
          description="Gram-matrix texture synthesis from noise (random-filter conv net)")
class Texture(ImageOptimization):
    Config = TextureConfig

    def build(self, cfg):
        self.style = self.photo(cfg.style)
        self.objective = st.texture_objective(self.net, self.style, tv_weight=cfg.tv_weight)
        self.style_loss = st.texture_objective(self.net, self.style)
        return st.noise_image(self.style.shape, cfg.seed).to(self.device)

    @torch.no_grad()
    def evaluate(self):
        return {"eval/style_loss": self.style_loss(self.x).item(),
                "eval/style_loss_start": self.style_loss(self.start).item()}

    def media(self):
        return {"texture": _img(self.x), "panel": self._strip({"style": self.style, "noise": self.start,
                                                               "synthesised": self.x})}


@register("style-transfer", data="skimage photos", metric="eval/loss", mode="min",
          description="neural style transfer: content + Gram style + total variation (random-filter conv net)")
class StyleTransfer(ImageOptimization):
    Config = StyleTransferConfig

    def build(self, cfg):
        self.content, self.style = self.photo(cfg.content), self.photo(cfg.style)
        self.objective = st.style_transfer_objective(self.net, self.content, self.style, cfg.content_layer, None,
                                                     cfg.content_weight, cfg.style_weight, cfg.tv_weight)
        return self.content.clone()

    @torch.no_grad()
    def evaluate(self):
        total, parts = self.objective(self.x)
        _, start = self.objective(self.content)
        return {"eval/loss": total.item(), "eval/style_loss": parts["style"].item(),
                "eval/content_loss": parts["content"].item(), "eval/tv": parts["tv"].item(),
                "eval/style_loss_content": start["style"].item()}

    def media(self):
        return {"stylised": _img(self.x), "panel": self._strip({"content": self.content, "style": self.style,
                                                               "result": self.x})}


@register("deepdream", data="skimage photos", metric="eval/activation_norm", mode="max",
          description="DeepDream: jittered gradient ascent on a layer's activations (random-filter conv net)")
class DeepDream(ImageOptimization):
    Config = DeepDreamConfig

    def build(self, cfg):
        self.objective = st.dream_objective(self.net, cfg.layer)
        return self.photo(cfg.image)

    @torch.no_grad()
    def _rms(self, x):
        return self.net(x)[self.cfg.layer].pow(2).mean().sqrt().item()

    def evaluate(self):
        now, start = self._rms(self.x), self._rms(self.start)
        return {"eval/activation_norm": now, "eval/activation_norm_start": start, "eval/activation_gain": now / start}

    def media(self):
        panel = self._strip({"photo": self.start, f"dream (layer {self.cfg.layer})": self.x})
        return {"dream": _img(self.x), "panel": panel}


@register("feature-inversion", data="skimage photos", metric="eval/feature_error", mode="min",
          description="feature inversion: an image whose layer features match a photo's (random-filter conv net)")
class FeatureInversion(ImageOptimization):
    Config = FeatureInversionConfig

    def build(self, cfg):
        self.target = self.photo(cfg.image)
        self.objective = st.inversion_objective(self.net, self.target, cfg.layer, cfg.tv_weight)
        with torch.no_grad():
            self.target_feats = self.net(self.target)[cfg.layer]
        return st.noise_image(self.target.shape, cfg.seed).to(self.device)

    @torch.no_grad()
    def _error(self, x):
        return st.feature_error(self.net(x)[self.cfg.layer], self.target_feats).item()

    def evaluate(self):
        return {"eval/feature_error": self._error(self.x), "eval/feature_error_noise": self._error(self.start),
                "eval/pixel_mse": (self.x - self.target).pow(2).mean().item()}

    def media(self):
        return {"reconstruction": _img(self.x),
                "panel": self._strip({"target": self.target, "noise": self.start,
                                      f"from layer {self.cfg.layer} features": self.x})}
