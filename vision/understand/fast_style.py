"""Fast (feed-forward) style transfer (Johnson, Alahi & Fei-Fei 2016): instead of optimising the pixels
of every new image (vision.style: hundreds of forward and backward passes of the loss network per
image), train once a transform network y = T_θ(x) that paints any content image x in one style s,
with the same losses, averaged over a set of content images:

    min_θ  E_x [ a L_content(T_θ(x); x) + b L_style(T_θ(x); s) + t L_tv(T_θ(x)) ]
    L_content(y; x) = ||φ_c(y) - φ_c(x)||^2 / |φ_c|,   L_style(y; s) = sum_l ||G_l(y) - G_l(s)||_F^2 / C_l^2

(φ, G, L_tv: vision.style, the same random-filter loss network). At test time a new image costs one
forward pass of T_θ; the price is a network per style, trained once, and a loss a little above what
per-image optimisation reaches, since one θ serves every x.

T_θ follows Johnson et al.: a 9x9 convolution, two stride-2 3x3 convolutions down, residual blocks,
two nearest-neighbour upsamplings each followed by a 3x3 convolution (no checkerboard artefacts of
transposed convolutions), a 9x9 convolution to RGB; instance normalisation (Ulyanov et al. 2016: the
contrast of each image is normalised away, which style transfer wants) and reflection padding. One
departure: the output is sigmoid(logit(x) + r_θ(x)) with the last convolution zero-initialised, so
the untrained network is the identity, and training starts, as the optimisation does, from the
content image; the sigmoid keeps pixels in (0, 1) without clipping away gradients.

The content images are random crops (flips, quarter turns) of scikit-image's bundled photos at a few scales;
the caller holds out the style photo and the test photos (fast-style-transfer does).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gymlab.vision.understand import style as st

TRAIN_PHOTOS = ("chelsea", "camera", "rocket", "immunohistochemistry", "moon", "clock", "coins", "brick",
                "grass", "gravel", "hubble_deep_field", "retina", "colorwheel", "page")


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride))


class _Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3), nn.InstanceNorm2d(c, affine=True), nn.ReLU(inplace=True),
                                  _conv(c, c, 3), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return x + self.body(x)


class TransformNet(nn.Module):
    """y = sigmoid(logit(x) + r(x)): conv9 -> 2 x (conv3 / 2) -> residual blocks -> 2 x (up x2, conv3) -> conv9.
    ``widths`` = channels of the three resolutions (full, 1/2, 1/4); input sides must be multiples of 4."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64), blocks: int = 3):
        super().__init__()
        a, b, c = widths

        def cnr(cin, cout, k, s=1):
            return [_conv(cin, cout, k, s), nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]

        layers = cnr(3, a, 9) + cnr(a, b, 3, 2) + cnr(b, c, 3, 2) + [_Residual(c) for _ in range(blocks)]
        layers += [nn.Upsample(scale_factor=2, mode="nearest")] + cnr(c, b, 3)
        layers += [nn.Upsample(scale_factor=2, mode="nearest")] + cnr(b, a, 3)
        self.out = _conv(a, 3, 9)
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"image sides must be multiples of 4, got {tuple(x.shape[-2:])}")
        return torch.sigmoid(torch.logit(x.clamp(0.01, 0.99)) + self.out(self.body(x)))


def batch_objective(net: nn.Module, style: torch.Tensor, content_layer: int = 2,
                    style_layers: Sequence[int] | None = None, content_weight: float = 1.0,
                    style_weight: float = 1.0, tv_weight: float = 0.0):
    """(y, x) -> (total, parts): vision.style's style-transfer loss of outputs y (B, 3, H, W) for contents
    x, each term averaged over the batch (for B = 1 it equals ``st.style_transfer_objective``)."""
    with torch.no_grad():
        sf = net(style)
    style_layers = list(range(len(sf))) if style_layers is None else list(style_layers)
    st._check_layers(len(sf), style_layers + [content_layer])
    grams = [st.gram_matrix(sf[i]) for i in style_layers]

    def objective(y, x):
        fy = net(y)
        with torch.no_grad():
            target = net(x)[content_layer]
        b = len(y)
        parts = {"content": st.content_loss(fy[content_layer], target),
                 "style": st.style_loss([fy[i] for i in style_layers], grams) / b,
                 "tv": st.total_variation(y)}
        return content_weight * parts["content"] + style_weight * parts["style"] + tv_weight * parts["tv"], parts

    return objective


def load_photos(names: Sequence[str], size: int, scales: Sequence[float] = (1.0, 1.25, 1.5)) -> list[torch.Tensor]:
    """The named scikit-image photos, centre-cropped square, as (3, s, s) tensors in [0, 1] at the sides
    s = round(scale size) (grey photos repeated over the channels, alpha dropped); fresh tensors on every
    call (the resized photos are cached by ``st.square_photo``)."""
    return [torch.tensor(st.square_photo(name, side)).permute(2, 0, 1).clamp(0, 1)
            for name in names for side in sorted({max(size, round(f * size)) for f in scales})]


def random_crops(photos: Sequence[torch.Tensor], n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` random size x size crops, each from a random photo, randomly flipped left-right and turned by a
    random multiple of 90 degrees: (n, 3, size, size)."""
    out = []
    for _ in range(n):
        p = photos[int(torch.randint(len(photos), (1,), generator=generator))]
        i = int(torch.randint(p.shape[1] - size + 1, (1,), generator=generator))
        j = int(torch.randint(p.shape[2] - size + 1, (1,), generator=generator))
        crop = p[:, i:i + size, j:j + size]
        crop = crop.flip(-1) if bool(torch.rand((), generator=generator) < 0.5) else crop
        out.append(torch.rot90(crop, int(torch.randint(4, (1,), generator=generator)), dims=(1, 2)))
    return torch.stack(out)


def train_step(model: TransformNet, opt: torch.optim.Optimizer, objective, x: torch.Tensor) -> dict:
    """One step of the transform network on a batch of contents ``x``: the loss and its parts."""
    opt.zero_grad(set_to_none=True)
    total, parts = objective(model(x), x)
    total.backward()
    opt.step()
    return {"loss": total.item(), **{k: v.item() for k, v in parts.items()}}


def optimise_each(photos: Sequence[torch.Tensor], objectives: Sequence, steps: int = 200, lr: float = 0.03) -> list:
    """The per-image optimisation it is compared with (vision.style, from each photo): [(image, loss, ms)]."""
    import time

    out = []
    for photo, obj in zip(photos, objectives):
        t0 = time.perf_counter()
        x, _ = st.optimize_image(lambda im, obj=obj: obj(im)[0], photo, steps, lr)
        ms = 1000 * (time.perf_counter() - t0)
        with torch.no_grad():
            out.append((x, obj(x)[0].item(), ms))
    return out


@torch.no_grad()
def forward_ms(model: nn.Module, x: torch.Tensor, reps: int = 5) -> float:
    """Milliseconds of one forward pass, the fastest of ``reps`` (the least disturbed run, as timeit advises)."""
    import time

    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        model(x)
        if x.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - t0))
    return min(times)


@torch.no_grad()
def compare(model: nn.Module, photos: Sequence[torch.Tensor], objectives: Sequence, optimised: list,
            reps: int = 5) -> dict:
    """Means over the photos: the loss of the feed-forward result (loss, style_loss, content_loss), of the
    optimised image (opt_loss), of the untouched photo (content_image_loss), loss_ratio = loss / opt_loss,
    gap_closed = (content_image_loss - loss) / (content_image_loss - opt_loss), and the time per image of
    each (ms_per_image of the first photo, opt_ms_per_image) and their ratio (speedup)."""
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    ff = [obj(model(c)) for c, obj in zip(photos, objectives)]
    loss, opt_loss = mean([t.item() for t, _ in ff]), mean([o[1] for o in optimised])
    start = mean([obj(c)[0].item() for c, obj in zip(photos, objectives)])
    ms, opt_ms = forward_ms(model, photos[0], reps), mean([o[2] for o in optimised])
    return {"loss": loss, "style_loss": mean([p["style"].item() for _, p in ff]),
            "content_loss": mean([p["content"].item() for _, p in ff]), "opt_loss": opt_loss,
            "content_image_loss": start, "loss_ratio": loss / opt_loss,
            "gap_closed": (start - loss) / (start - opt_loss),
            "ms_per_image": ms, "opt_ms_per_image": opt_ms, "speedup": opt_ms / ms}


@torch.no_grad()
def draw_comparison(model: nn.Module, style: torch.Tensor, photos: Sequence[torch.Tensor], names: Sequence[str],
                    objectives: Sequence, optimised: list):
    """A figure: per held-out photo (columns) the photo, the optimised image and the feed-forward one, with losses."""
    import matplotlib.pyplot as plt

    n = len(photos)
    fig, axes = plt.subplots(3, n + 1, figsize=(2.2 * (n + 1), 6.9), squeeze=False)
    for r, title in enumerate(("held-out photo", "optimised (per image)", "feed-forward (one pass)")):
        axes[r, 0].text(0.5, 0.5, title, ha="center", va="center", fontsize=9)
        axes[r, 0].axis("off")
    axes[0, 0].imshow(st.to_numpy_image(style), extent=(0.25, 0.75, 0.6, 0.95))
    axes[0, 0].set_xlim(0, 1)
    axes[0, 0].set_ylim(0, 1)
    axes[0, 0].set_title("style", fontsize=8)
    for j, (c, obj, (x_opt, loss_opt, _)) in enumerate(zip(photos, objectives, optimised)):
        y = model(c)
        cells = [(c, f"{names[j]}: loss {obj(c)[0].item():.3f}"), (x_opt, f"loss {loss_opt:.3f}"),
                 (y, f"loss {obj(y)[0].item():.3f}")]
        for r, (im, title) in enumerate(cells):
            axes[r, j + 1].imshow(st.to_numpy_image(im))
            axes[r, j + 1].set_title(title, fontsize=8)
            axes[r, j + 1].axis("off")
    fig.tight_layout()
    return fig


@torch.no_grad()
def draw_applied(model: nn.Module, photos: torch.Tensor):
    """A figure: photos (N, 3, H, W) over their feed-forward results, one forward pass."""
    import matplotlib.pyplot as plt

    out = model(photos)
    fig, axes = plt.subplots(2, len(photos), figsize=(1.7 * len(photos), 3.6), squeeze=False)
    for j in range(len(photos)):
        for r, im in enumerate((photos[j], out[j])):
            axes[r, j].imshow(st.to_numpy_image(im[None]))
            axes[r, j].axis("off")
    fig.tight_layout()
    return fig


def draw_loss_curve(history: list, opt_loss: float):
    """A figure: the training loss (``history``: dicts with step and train/loss) against the mean loss of
    per-image optimisation."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3))
    if history:
        ax.plot([h["step"] for h in history], [h["train/loss"] for h in history], label="training crops")
    ax.axhline(opt_loss, color="k", ls="--", label="per-image optimisation (held-out, mean)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
