"""`fast-style-transfer`: a feed-forward transform network (vision.fast_style) trained once, on random crops
of scikit-image's photos, with the same content, Gram-style and total-variation losses (and the same
random-filter loss network) as `style-transfer`, then applied to held-out photos (``test_photos``, none
of them in training) in one forward pass each. Beside it, the per-image optimisation of
`style-transfer` (``opt_steps`` Adam steps on the pixels, from the photo) of each. Metrics, means over
the test photos: the loss of the feed-forward result (eval/loss), of the optimised image
(eval/opt_loss), of the untouched photo (eval/content_image_loss), eval/loss_ratio = loss / opt_loss,
and eval/gap_closed = (content_image_loss - loss) / (content_image_loss - opt_loss), the share of the
optimisation's improvement that one forward pass gets; the time per image of each
(eval/ms_per_image: one forward pass of one photo, the fastest of ``timing_reps``; eval/opt_ms_per_image;
eval/speedup). Every train_step is one Adam step of the transform network.

The defaults are smaller than `style-transfer`'s (32x32 photos, a three-stage loss network) so that
training fits the CPU budget; both methods see the same size and network."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.vision.understand import fast_style as fs
from gymlab.vision.understand import style as st


@dataclass
class FastStyleConfig(RunConfig):
    steps: int = 600
    eval_every: int = 600
    size: int = 32  # photos and crops are size x size (a multiple of 4)
    channels: list = field(default_factory=lambda: [16, 32, 64])  # the random loss network's stages
    test_photos: list = field(default_factory=lambda: ["astronaut", "rocket", "immunohistochemistry", "chelsea"])
    style: str = "coffee"
    content_layer: int = 2
    content_weight: float = 1.0
    style_weight: float = 1.0
    tv_weight: float = 0.1
    lr: float = 1e-3  # Adam on the transform network
    batch_size: int = 4
    widths: list = field(default_factory=lambda: [16, 32, 64])  # transform network: full, 1/2, 1/4 resolution
    blocks: int = 3  # residual blocks
    opt_steps: int = 200  # the per-image optimisation it is compared with (style-transfer's defaults)
    opt_lr: float = 0.03
    timing_reps: int = 5


@register("fast-style-transfer", data="skimage photos", metric="eval/loss", mode="min",
          description="feed-forward style transfer: a transform net trained once, one forward pass per image")
class FastStyleTransfer:
    Config = FastStyleConfig

    def setup(self, cfg, ctx):
        for name in [cfg.style, *cfg.test_photos]:
            if name not in st.PHOTOS:
                raise GymlabError(f"bad value for 'style' or 'test_photos': {name!r}; valid: {', '.join(st.PHOTOS)}")
        if not cfg.test_photos:
            raise GymlabError("bad value for 'test_photos': at least one photo")
        if cfg.size < 16 or cfg.size % 4:
            raise GymlabError(f"bad value for 'size': {cfg.size}; it must be a multiple of 4, at least 16")
        if not cfg.channels or not 0 <= cfg.content_layer < len(cfg.channels):
            raise GymlabError(f"bad value for 'content_layer': {cfg.content_layer}; valid: 0..{len(cfg.channels) - 1}")
        if len(cfg.widths) != 3 or cfg.blocks < 0 or cfg.batch_size < 1:
            raise GymlabError("bad value for 'widths', 'blocks' or 'batch_size': widths needs three entries, "
                              f"blocks >= 0, batch_size >= 1; got {list(cfg.widths)}, {cfg.blocks}, {cfg.batch_size}")
        self.cfg, self.device = cfg, ctx.device
        torch.manual_seed(cfg.seed)
        self.net = st.RandomConvNet(tuple(int(c) for c in cfg.channels), seed=cfg.seed).to(ctx.device)
        self.tests = [st.load_photo(n, cfg.size).to(ctx.device) for n in cfg.test_photos]
        self.style = st.load_photo(cfg.style, cfg.size).to(ctx.device)
        held_out = {cfg.style, *cfg.test_photos}
        self.train_names = [n for n in fs.TRAIN_PHOTOS if n not in held_out]
        self.photos = fs.load_photos(self.train_names, cfg.size)
        self.model = fs.TransformNet(tuple(int(w) for w in cfg.widths), cfg.blocks).to(ctx.device)
        self.opt = torch.optim.Adam(self.model.parameters(), cfg.lr)
        weights = (cfg.content_weight, cfg.style_weight, cfg.tv_weight)
        self.objective = fs.batch_objective(self.net, self.style, cfg.content_layer, None, *weights)
        self.test_objectives = [st.style_transfer_objective(self.net, c, self.style, cfg.content_layer, None, *weights)
                                for c in self.tests]
        self.step, self.history, self._opt_result = 0, [], None

    def train_step(self):
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)  # resumable: (seed, step)
        x = fs.random_crops(self.photos, self.cfg.batch_size, self.cfg.size, g).to(self.device)
        self.model.train()
        out = fs.train_step(self.model, self.opt, self.objective, x)
        self.step += 1
        row = {"train/loss": out["loss"], "train/content_loss": out["content"], "train/style_loss": out["style"]}
        if self.step % 10 == 0 or self.step == 1:
            self.history.append({"step": self.step, **row})
        return row

    def optimisation(self):
        """The per-image optimisation of each test photo (computed once): [(image, loss, ms)]."""
        if self._opt_result is None:
            c, out = self.cfg, []
            for photo, obj in zip(self.tests, self.test_objectives):
                t0 = time.perf_counter()
                x, _ = st.optimize_image(lambda im, obj=obj: obj(im)[0], photo, c.opt_steps, c.opt_lr)
                ms = 1000 * (time.perf_counter() - t0)
                with torch.no_grad():
                    out.append((x, obj(x)[0].item(), ms))
            self._opt_result = out
        return self._opt_result

    @torch.no_grad()
    def stylise(self, x):
        self.model.eval()
        return self.model(x)

    @torch.no_grad()
    def evaluate(self):
        ff = [obj(self.stylise(c)) for c, obj in zip(self.tests, self.test_objectives)]
        times = []
        for _ in range(self.cfg.timing_reps):
            t0 = time.perf_counter()
            self.stylise(self.tests[0])
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(1000 * (time.perf_counter() - t0))
        ms = min(times)  # the least disturbed run, as timeit advises
        with torch.enable_grad():
            opt = self.optimisation()

        def mean(v):
            return sum(v) / len(v)

        loss, opt_loss = mean([t.item() for t, _ in ff]), mean([o[1] for o in opt])
        start = mean([obj(c)[0].item() for c, obj in zip(self.tests, self.test_objectives)])
        opt_ms = mean([o[2] for o in opt])
        return {"eval/loss": loss, "eval/style_loss": mean([p["style"].item() for _, p in ff]),
                "eval/content_loss": mean([p["content"].item() for _, p in ff]), "eval/opt_loss": opt_loss,
                "eval/content_image_loss": start, "eval/loss_ratio": loss / opt_loss,
                "eval/gap_closed": (start - loss) / (start - opt_loss),
                "eval/ms_per_image": ms, "eval/opt_ms_per_image": opt_ms, "eval/speedup": opt_ms / ms}

    def media(self):
        opt = self.optimisation()
        ys = [self.stylise(c) for c in self.tests]
        n = len(self.tests)
        fig, axes = plt.subplots(3, n + 1, figsize=(2.2 * (n + 1), 6.9), squeeze=False)
        for r, title in enumerate(("held-out photo", "optimised (per image)", "feed-forward (one pass)")):
            axes[r, 0].text(0.5, 0.5, title, ha="center", va="center", fontsize=9)
            axes[r, 0].axis("off")
        axes[0, 0].imshow(self.style[0].permute(1, 2, 0).cpu().numpy(), extent=(0.25, 0.75, 0.6, 0.95))
        axes[0, 0].set_xlim(0, 1)
        axes[0, 0].set_ylim(0, 1)
        axes[0, 0].set_title("style", fontsize=8)
        for j, (c, obj, (x_opt, loss_opt, _), y) in enumerate(zip(self.tests, self.test_objectives, opt, ys)):
            cells = [(c, f"{self.cfg.test_photos[j]}: loss {obj(c)[0].item():.3f}"), (x_opt, f"loss {loss_opt:.3f}"),
                     (y, f"loss {obj(y)[0].item():.3f}")]
            for r, (im, title) in enumerate(cells):
                axes[r, j + 1].imshow(im[0].detach().permute(1, 2, 0).clamp(0, 1).cpu().numpy())
                axes[r, j + 1].set_title(title, fontsize=8)
                axes[r, j + 1].axis("off")
        fig.tight_layout()
        # the same network on other photos: one forward pass each
        others = torch.stack([p for p in self.photos if p.shape[-1] == self.cfg.size][:6]).to(self.device)
        out = self.stylise(others)
        fig2, axes2 = plt.subplots(2, len(others), figsize=(1.7 * len(others), 3.6), squeeze=False)
        for j in range(len(others)):
            for r, im in enumerate((others[j], out[j])):
                axes2[r, j].imshow(im.permute(1, 2, 0).clamp(0, 1).cpu().numpy())
                axes2[r, j].axis("off")
        fig2.tight_layout()
        fig3, ax = plt.subplots(figsize=(4.5, 3))
        if self.history:
            ax.plot([h["step"] for h in self.history], [h["train/loss"] for h in self.history], label="training crops")
        ax.axhline(sum(o[1] for o in opt) / n, color="k", ls="--", label="per-image optimisation (held-out, mean)")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
        fig3.tight_layout()
        return {"stylised": ys[0][0].permute(1, 2, 0).clamp(0, 1).cpu().numpy(), "panel": fig, "training_photos": fig2,
                "loss_curve": fig3}

    def state_dict(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                "history": list(self.history)}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.history = state["step"], list(state["history"])
