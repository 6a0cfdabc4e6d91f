"""`fast-style-transfer`: a feed-forward transform network (vision.understand.fast_style) trained once, on
random crops of scikit-image's photos, with the same losses and random-filter loss network as
`style-transfer`, then applied to held-out photos (``test_photos``, none of them in training) in one
forward pass each, beside `style-transfer`'s per-image optimisation (``opt_steps`` steps) of each.
eval/: fast_style.compare's means over the test photos (eval/loss, eval/opt_loss, eval/content_image_loss,
eval/loss_ratio, eval/gap_closed, eval/ms_per_image, eval/opt_ms_per_image, eval/speedup). Every
train_step is one step of ``optim`` on the transform network. The defaults are smaller than
`style-transfer`'s (32x32 photos, a three-stage loss network) so that training fits the CPU budget."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gymlab.runners.config import OptimConfig, RunConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.experiments.vision.style import Photo
from gymlab.runners.registry import register
from gymlab.vision.nn.optim import make_optimizer
from gymlab.vision.understand import fast_style as fs
from gymlab.vision.understand import style as st


@dataclass
class FastStyleConfig(RunConfig):
    steps: int = 600
    eval_every: int = 600
    size: int = field(default=32, metadata={"range": (16, None, "at least 16")})  # photos and crops: a multiple of 4
    channels: list = field(default_factory=lambda: [16, 32, 64])  # the random loss network's stages
    test_photos: list = field(default_factory=lambda: ["astronaut", "rocket", "immunohistochemistry", "chelsea"])
    style: Photo = "coffee"  # the style photo
    content_layer: int = 2  # the layer whose features the content loss compares
    content_weight: float = 1.0
    style_weight: float = 1.0
    tv_weight: float = 0.1  # total variation: smoothness
    optim: OptimConfig = group(OptimConfig, lr=1e-3)  # on the transform network
    batch_size: int = 4  # random crops per step
    widths: list = field(default_factory=lambda: [16, 32, 64])  # transform network: full, 1/2, 1/4 resolution
    blocks: int = 3  # residual blocks
    opt_steps: int = 200  # the per-image optimisation it is compared with (style-transfer's defaults)
    opt_lr: float = 0.03  # its Adam step size
    timing_reps: int = 5  # forward passes timed; the fastest counts


@register("fast-style-transfer", data="skimage photos", metric="eval/loss", mode="min",
          description="feed-forward style transfer: a transform net trained once, one forward pass per image")
class FastStyleTransfer(Experiment):
    Config = FastStyleConfig
    counters = ("step", "history")

    def setup(self, cfg, ctx):
        if cfg.size % 4 or not cfg.test_photos or len(cfg.widths) != 3:
            raise GymlabError(f"bad value for 'size', 'test_photos' or 'widths': size a multiple of 4, test_photos "
                              f"a photo or more, widths three; got {cfg.size}, {cfg.test_photos}, {cfg.widths}")
        self.cfg, self.device, w = cfg, ctx.device, (cfg.content_weight, cfg.style_weight, cfg.tv_weight)
        photo = lambda name: st.load_photo(name, cfg.size).to(ctx.device)  # noqa: E731
        torch.manual_seed(cfg.seed)
        try:
            self.loss_net = st.RandomConvNet(tuple(int(c) for c in cfg.channels), seed=cfg.seed).to(ctx.device)
            self.style, self.tests = photo(cfg.style), [photo(n) for n in cfg.test_photos]
            self.objective = fs.batch_objective(self.loss_net, self.style, cfg.content_layer, None, *w)
        except ValueError as e:
            raise GymlabError(f"bad value for 'test_photos', 'channels' or 'content_layer': {e}") from None
        self.test_objectives = [st.style_transfer_objective(self.loss_net, c, self.style, cfg.content_layer, None, *w)
                                for c in self.tests]
        self.photos = fs.load_photos([n for n in fs.TRAIN_PHOTOS if n not in {cfg.style, *cfg.test_photos}], cfg.size)
        self.model = fs.TransformNet(tuple(int(c) for c in cfg.widths), cfg.blocks).to(ctx.device)
        o = cfg.optim
        self.opt = make_optimizer(self.model.parameters(), o.name, o.lr, o.weight_decay, o.momentum)
        self.step, self.history, self._optimised = 0, [], None

    def train_step(self):
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)  # resumable: (seed, step)
        self.model.train()
        out = fs.train_step(self.model, self.opt, self.objective,
                            fs.random_crops(self.photos, self.cfg.batch_size, self.cfg.size, g).to(self.device))
        self.step += 1
        row = {"train/loss": out["loss"], "train/content_loss": out["content"], "train/style_loss": out["style"]}
        if self.step % 10 == 0 or self.step == 1:
            self.history.append({"step": self.step, **row})
        return row

    def optimised(self):
        """The per-image optimisation of each test photo, computed once: [(image, loss, ms)]."""
        if self._optimised is None:
            self._optimised = fs.optimise_each(self.tests, self.test_objectives, self.cfg.opt_steps, self.cfg.opt_lr)
        return self._optimised

    def evaluate(self):
        self.model.eval()
        return {f"eval/{k}": v for k, v in fs.compare(self.model, self.tests, self.test_objectives, self.optimised(),
                                                      self.cfg.timing_reps).items()}

    def media(self):
        c, opt = self.cfg, self.optimised()
        self.model.eval()
        others = torch.stack([p for p in self.photos if p.shape[-1] == c.size][:6]).to(self.device)
        with torch.no_grad():
            stylised = st.to_numpy_image(self.model(self.tests[0]))
        panel = fs.draw_comparison(self.model, self.style, self.tests, c.test_photos, self.test_objectives, opt)
        return {"stylised": stylised, "training_photos": fs.draw_applied(self.model, others), "panel": panel,
                "loss_curve": fs.draw_loss_curve(self.history, sum(o[1] for o in opt) / len(opt))}
