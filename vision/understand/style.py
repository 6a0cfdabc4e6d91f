"""Textures, style transfer, DeepDream and feature inversion: optimising an image's pixels against the
features phi_l(x) of a convolutional network.

    Gram matrix of layer l (C_l channels, N_l = H_l W_l positions):  G_l = F_l F_l^T / N_l,  F_l in R^{C_l x N_l}
    style loss:          L_style(x)   = sum_l w_l ||G_l(x) - G_l(s)||_F^2 / C_l^2
    content loss:        L_content(x) = ||phi_c(x) - phi_c(c)||^2 / |phi_c|               (mean square)
    total variation:     L_tv(x)      = mean (x_{i+1,j} - x_{i,j})^2 + mean (x_{i,j+1} - x_{i,j})^2
    texture synthesis:   min_x L_style(x) (+ t L_tv(x))          from noise (Gatys et al. 2015)
    style transfer:      min_x a L_content(x) + b L_style(x) + t L_tv(x)   from the content image (Gatys et al. 2016)
    DeepDream:           max_x 1/2 mean phi_l(x)^2   (the gradient at layer l is the activation itself), jittered
    feature inversion:   min_x ||phi_l(x) - phi_l(x0)||^2 / ||phi_l(x0)||^2 + t L_tv(x)   (Mahendran & Vedaldi 2015)

No pretrained weights can be downloaded here, so the network is a *random-filter* VGG-like stack
(:class:`RandomConvNet`: 3x3 convolutions with He-normal random weights, ReLU, average pooling), fixed by a
seed. Random-filter networks are known to give good Gram-matrix textures (Ustyuzhaninov et al., "What does
it take to generate natural textures?", ICLR 2017; He, Wang & Hopcroft, "A powerful generative model using
random weights for the deep image representation", NeurIPS 2016); DeepDream's patterns from random filters
are textures rather than the dogs and pagodas of an ImageNet network. Any module that returns a list of
feature maps can take its place. The photos are scikit-image's bundled ones (offline): :func:`load_photo`.
Pixels are optimised with Adam and clamped to [0, 1] after every step.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PHOTOS = ("astronaut", "coffee", "chelsea", "camera", "rocket", "immunohistochemistry")


def load_photo(name: str, size: int = 64) -> torch.Tensor:
    """One of scikit-image's bundled photos as a (1, 3, size, size) float tensor in [0, 1]
    (centre-cropped to a square, resized with anti-aliasing; grey photos are repeated over 3 channels)."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; valid: {', '.join(PHOTOS)}")
    return torch.tensor(square_photo(name, size)).permute(2, 0, 1).unsqueeze(0).clamp(0, 1)


@functools.lru_cache(maxsize=256)
def square_photo(name: str, side: int) -> np.ndarray:
    """The named scikit-image photo, centre-cropped square and resized (anti-aliased) to (side, side, 3)
    float32 (grey repeated over the channels, alpha dropped). Cached per (name, side): the resize of the
    full-size photo is the slow part; the array is read-only, so callers copy it."""
    from skimage import data, transform

    img = np.asarray(getattr(data, name)(), dtype=np.float64)
    img = img / 255.0 if img.max() > 1 else img
    img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    out = transform.resize(img, (side, side), anti_aliasing=True).astype(np.float32)
    out.setflags(write=False)
    return out


class RandomConvNet(nn.Module):
    """A VGG-like stack with random (seeded, He-normal) filters: per stage conv3x3 -> ReLU -> (2x2 average
    pool before the next stage). ``forward`` returns every stage's ReLU output (fine to coarse scales).
    Its parameters are frozen: only the image is optimised."""

    def __init__(self, channels: Sequence[int] = (32, 64, 128, 256), seed: int = 0):
        super().__init__()
        if not channels:
            raise ValueError("channels must name at least one stage")
        g = torch.Generator().manual_seed(seed)
        convs, c_in = [], 3
        for c in channels:
            conv = nn.Conv2d(c_in, c, 3, padding=1, padding_mode="reflect")
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / (9 * c_in)) ** 0.5)
                conv.bias.zero_()
            convs.append(conv)
            c_in = c
        self.convs = nn.ModuleList(convs)
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = (x - self.mean) / self.std
        feats = []
        for i, conv in enumerate(self.convs):
            if i > 0:
                h = F.avg_pool2d(h, 2)
            h = F.relu(conv(h))
            feats.append(h)
        return feats


# ------------------------------------------------------------------------------ the losses
def gram_matrix(f: torch.Tensor) -> torch.Tensor:
    """G = F F^T / (H W) for features f of shape (B, C, H, W); returns (B, C, C)."""
    b, c, h, w = f.shape
    flat = f.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def style_loss(feats: Sequence[torch.Tensor], target_grams: Sequence[torch.Tensor],
               weights: Sequence[float] | None = None) -> torch.Tensor:
    """sum_l w_l ||G_l - A_l||_F^2 / C_l^2 over the layers given (default weights 1)."""
    weights = weights if weights is not None else [1.0] * len(target_grams)
    if not (len(feats) == len(target_grams) == len(weights)):
        raise ValueError(f"style_loss needs as many features, Gram targets and weights; got "
                         f"{len(feats)}, {len(target_grams)}, {len(weights)}")
    return sum(w * ((gram_matrix(f) - a) ** 2).sum() / f.shape[1] ** 2
               for f, a, w in zip(feats, target_grams, weights))


def content_loss(f: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of one layer's features."""
    return ((f - target) ** 2).mean()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between vertically and horizontally adjacent pixels."""
    return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean() + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean()


def feature_error(f: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||f - target||^2 / ||target||^2: 0 for a perfect reconstruction."""
    return ((f - target) ** 2).sum() / (target ** 2).sum().clamp_min(1e-12)


def _pick(feats, layers):
    return [feats[i] for i in layers]


def _check_layers(net_depth: int, layers: Sequence[int]) -> None:
    bad = [i for i in layers if not -net_depth <= i < net_depth]
    if bad:
        raise ValueError(f"layer {bad[0]} out of range; the network has layers 0..{net_depth - 1}")


# ------------------------------------------------------------------------------ the objectives
def texture_objective(net: nn.Module, style: torch.Tensor, layers: Sequence[int] | None = None,
                      tv_weight: float = 0.0) -> Callable:
    """x -> L_style(x) + t L_tv(x), the style loss against the Gram matrices of ``style``."""
    with torch.no_grad():
        feats = net(style)
    layers = list(range(len(feats))) if layers is None else list(layers)
    _check_layers(len(feats), layers)
    grams = [gram_matrix(f) for f in _pick(feats, layers)]
    return lambda x: style_loss(_pick(net(x), layers), grams) + tv_weight * total_variation(x)


def style_transfer_objective(net: nn.Module, content: torch.Tensor, style: torch.Tensor, content_layer: int = 2,
                             style_layers: Sequence[int] | None = None, content_weight: float = 1.0,
                             style_weight: float = 1.0, tv_weight: float = 0.0) -> Callable:
    """x -> (total, parts) with total = a L_content + b L_style + t L_tv and parts the three terms."""
    with torch.no_grad():
        cf, sf = net(content), net(style)
    style_layers = list(range(len(sf))) if style_layers is None else list(style_layers)
    _check_layers(len(sf), style_layers + [content_layer])
    grams, target = [gram_matrix(f) for f in _pick(sf, style_layers)], cf[content_layer]

    def objective(x):
        feats = net(x)
        parts = {"content": content_loss(feats[content_layer], target),
                 "style": style_loss(_pick(feats, style_layers), grams), "tv": total_variation(x)}
        return content_weight * parts["content"] + style_weight * parts["style"] + tv_weight * parts["tv"], parts

    return objective


def dream_objective(net: nn.Module, layer: int) -> Callable:
    """x -> -1/2 mean phi_l(x)^2 (minimised: gradient *ascent* on the layer's activations)."""
    return lambda x: -0.5 * (net(x)[layer] ** 2).mean()


def inversion_objective(net: nn.Module, target: torch.Tensor, layer: int, tv_weight: float = 0.0) -> Callable:
    """x -> ||phi_l(x) - phi_l(x0)||^2 / ||phi_l(x0)||^2 + t L_tv(x)."""
    with torch.no_grad():
        t = net(target)[layer]
    return lambda x: feature_error(net(x)[layer], t) + tv_weight * total_variation(x)


# ------------------------------------------------------------------------------ the optimisation
def noise_image(shape, seed: int = 0) -> torch.Tensor:
    """Uniform noise around mid-grey, the usual start for synthesis and inversion."""
    g = torch.Generator().manual_seed(seed)
    return (0.5 + 0.2 * (torch.rand(shape, generator=g) - 0.5)).clamp(0, 1)


def jitter(x: torch.Tensor, step: int, max_shift: int, seed: int = 0) -> tuple[int, int]:
    """DeepDream's random roll (dy, dx) for a step, derived from (seed, step)."""
    if max_shift <= 0:
        return 0, 0
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    dy, dx = torch.randint(-max_shift, max_shift + 1, (2,), generator=g).tolist()
    return dy, dx


def image_step(x: torch.Tensor, opt: torch.optim.Optimizer, objective: Callable, shift=(0, 0)) -> float:
    """One Adam step on the pixels ``x`` (a leaf tensor requiring grad), then clamp to [0, 1]. ``shift``
    rolls the image before the objective sees it (DeepDream's jitter). Returns the objective's value."""
    opt.zero_grad(set_to_none=True)
    xs = torch.roll(x, shifts=shift, dims=(-2, -1)) if any(shift) else x
    out = objective(xs)
    loss = out[0] if isinstance(out, tuple) else out
    loss.backward()
    opt.step()
    with torch.no_grad():
        x.clamp_(0, 1)
    return loss.item()


def optimize_image(objective: Callable, x0: torch.Tensor, steps: int = 200, lr: float = 0.02,
                   max_shift: int = 0, seed: int = 0) -> tuple[torch.Tensor, list[float]]:
    """Minimise ``objective`` over the pixels from ``x0`` with Adam; returns (image, loss per step)."""
    x = x0.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    history = [image_step(x, opt, objective, jitter(x, s, max_shift, seed)) for s in range(steps)]
    return x.detach(), history


def synthesize_texture(net, style, steps=300, lr=0.02, tv_weight=0.0, seed=0):
    """A new image with the Gram statistics of ``style``, grown from noise."""
    return optimize_image(texture_objective(net, style, tv_weight=tv_weight), noise_image(style.shape, seed), steps, lr)


def style_transfer(net, content, style, steps=300, lr=0.02, content_layer=2, content_weight=1.0, style_weight=1.0,
                   tv_weight=0.0):
    """``content``'s layout painted with ``style``'s Gram statistics, starting from the content image."""
    obj = style_transfer_objective(net, content, style, content_layer, None, content_weight, style_weight, tv_weight)
    return optimize_image(obj, content, steps, lr)


def deepdream(net, image, layer=2, steps=50, lr=0.003, max_shift=4, seed=0):
    """Amplify whatever layer ``layer`` responds to in ``image`` (jittered gradient ascent)."""
    return optimize_image(dream_objective(net, layer), image, steps, lr, max_shift=max_shift, seed=seed)


def invert_features(net, target, layer=2, steps=300, lr=0.02, tv_weight=0.0, seed=0):
    """An image whose layer-``layer`` features match ``target``'s, grown from noise."""
    objective = inversion_objective(net, target, layer, tv_weight)
    return optimize_image(objective, noise_image(target.shape, seed), steps, lr)


# ------------------------------------------------------------------------------ the four problems, ready to run
@dataclass
class ImageTask:
    """A pixel-optimisation problem: the start image, the objective to minimise, ``metrics(x)`` (the
    scores of an image, with those of the start for scale; call under no_grad) and the images a figure
    shows beside the result (titled ``result``)."""
    start: torch.Tensor
    objective: Callable
    metrics: Callable
    shown: dict
    result: str


def texture_task(net: nn.Module, style: torch.Tensor, tv_weight: float = 0.0, seed: int = 0) -> ImageTask:
    """Texture synthesis from noise; metrics style_loss (without the TV term) and style_loss_start."""
    start, loss = noise_image(style.shape, seed).to(style.device), texture_objective(net, style)
    return ImageTask(start, texture_objective(net, style, tv_weight=tv_weight),
                     lambda x: {"style_loss": loss(x).item(), "style_loss_start": loss(start).item()},
                     {"style": style, "noise": start}, "synthesised")


def transfer_task(net: nn.Module, content: torch.Tensor, style: torch.Tensor, content_layer: int = 2,
                  content_weight: float = 1.0, style_weight: float = 1.0, tv_weight: float = 0.0) -> ImageTask:
    """Style transfer from the content image; metrics loss, style_loss, content_loss, tv and
    style_loss_content (the content image's own style loss)."""
    obj = style_transfer_objective(net, content, style, content_layer, None, content_weight, style_weight, tv_weight)

    def metrics(x):
        (total, parts), start = obj(x), obj(content)[1]
        return {"loss": total.item(), "style_loss": parts["style"].item(), "content_loss": parts["content"].item(),
                "tv": parts["tv"].item(), "style_loss_content": start["style"].item()}

    return ImageTask(content.clone(), obj, metrics, {"content": content, "style": style}, "result")


def dream_task(net: nn.Module, image: torch.Tensor, layer: int = 2) -> ImageTask:
    """DeepDream from the photo; metrics activation_norm (the layer's RMS), its _start and activation_gain."""
    with torch.no_grad():
        _check_layers(len(net(image)), [layer])
    rms = lambda x: net(x)[layer].pow(2).mean().sqrt().item()  # noqa: E731

    def metrics(x):
        now, start = rms(x), rms(image)
        return {"activation_norm": now, "activation_norm_start": start, "activation_gain": now / start}

    return ImageTask(image, dream_objective(net, layer), metrics, {"photo": image}, f"dream (layer {layer})")


def inversion_task(net: nn.Module, target: torch.Tensor, layer: int = 2, tv_weight: float = 0.0,
                   seed: int = 0) -> ImageTask:
    """Feature inversion from noise; metrics feature_error, feature_error_noise and pixel_mse."""
    with torch.no_grad():
        feats = net(target)
    _check_layers(len(feats), [layer])
    start, t = noise_image(target.shape, seed).to(target.device), feats[layer]
    obj = inversion_objective(net, target, layer, tv_weight)
    err = lambda x: feature_error(net(x)[layer], t).item()  # noqa: E731
    return ImageTask(start, obj, lambda x: {"feature_error": err(x), "feature_error_noise": err(start),
                                            "pixel_mse": (x - target).pow(2).mean().item()},
                     {"target": target, "noise": start}, f"from layer {layer} features")


def to_numpy_image(x: torch.Tensor) -> np.ndarray:
    """The first image of a batch (1, 3, H, W) as an (H, W, 3) array in [0, 1]."""
    return x[0].detach().permute(1, 2, 0).clamp(0, 1).cpu().numpy()


def draw_strip(named: dict):
    """A figure: the named images (1, 3, H, W) side by side, titled."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(named), figsize=(2.6 * len(named), 2.9), squeeze=False)
    for ax, (title, im) in zip(axes[0], named.items()):
        ax.imshow(to_numpy_image(im))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig
