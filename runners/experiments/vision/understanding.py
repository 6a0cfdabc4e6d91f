"""Visualising and understanding a CNN (vision.understanding). Each experiment trains the same
classifier on one-digit scenes (a digit of 10-16 pixels somewhere on a 32x32 canvas; the label is the
digit) and then looks inside it:

- `saliency`: gradients of the class score with respect to the pixels; eval/saliency_in_box is the
  share of the saliency that falls inside the digit's box (uniform maps give the box's area share);
- `class-visualization`: gradient ascent on the input with L2 regularisation, one image per class;
- `occlusion`: score drop as a patch slides over the image; eval/occlusion_peak_in_box: how often the
  largest drop is on the digit;
- `nearest-neighbours`: nearest training scenes of test scenes in pixel space against feature space
  (the classifier's globally max-pooled conv features): eval/pixel_nn_accuracy against eval/feature_nn_accuracy.

``data=mnist`` trains on the first ``n_train`` MNIST training images (28x28) and looks at the first
``n_test`` test images; a digit's box is the bounding box of its ink (pixels above ``vision.scenes.INK``)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments._shared import Checkpointed, batch_indices
from gymlab.runners.registry import register
from gymlab.vision.understand import understanding as U
from gymlab.vision.nn.backbones import build
from gymlab.vision.data.scenes import INK, SceneData, Scenes, load_scenes
from gymlab.vision.classify.transfer import PooledClassifier


@dataclass
class UnderstandingConfig(RunConfig):
    steps: int = 300
    eval_every: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    data: str = "scenes"  # scenes | mnist
    data_root: Optional[str] = None  # cache folder for mnist (default $GYMLAB_DATA)
    n_train: int = 1500
    n_test: int = 300
    width: int = 16  # vgg stage widths width, 2 width, 4 width
    n_show: int = 8  # scenes in the media
    # class visualization
    vis_steps: int = 200
    vis_lr: float = 0.5
    vis_l2: float = 0.05
    # occlusion
    patch: int = 8
    stride: int = 2
    # nearest neighbours
    k: int = 1


class SceneClassifier(Checkpointed):
    """Trains a small VGG with global max pooling on one-digit scenes; subclasses add their metrics and media."""

    Config = UnderstandingConfig

    def setup(self, cfg: UnderstandingConfig, ctx):
        if cfg.data not in ("scenes", "mnist"):
            raise GymlabError(f"bad value for 'data': {cfg.data!r}; valid: scenes, mnist")
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        if cfg.data == "mnist":
            self.data = mnist_scenes(cfg.seed, cfg.n_train, cfg.n_test, cfg.data_root)
        else:
            self.data = load_scenes(cfg.seed, cfg.n_train, cfg.n_test, min_digits=1, max_digits=1)
        self.ytr = torch.stack([lab[0] for lab in self.data.train.labels])
        self.yte = torch.stack([lab[0] for lab in self.data.test.labels])
        self.size = self.data.size
        w = cfg.width
        net = build("vgg", 1, self.size, 10, widths=(w, 2 * w, 4 * w), convs=(1, 1, 2))
        self.model = ctx.prepare_model(PooledClassifier(net))
        self.opt = torch.optim.Adam(self.model.parameters(), cfg.lr)
        self.steps_per_epoch = math.ceil(len(self.ytr) / cfg.batch_size)
        self.step = 0

    def train_step(self):
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, len(self.ytr), self.cfg.batch_size))
        self.model.train()
        with self.ctx.autocast():
            scores = self.model(self.data.train.images[idx].to(self.device))
        loss = F.cross_entropy(scores.float(), self.ytr[idx].to(self.device))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"train/loss": loss.item(), "train/epoch": self.step / self.steps_per_epoch}

    @torch.no_grad()
    def _accuracy(self):
        self.model.eval()
        pred = torch.cat([self.model(c.to(self.device)).argmax(1).cpu() for c in torch.split(self.data.test.images, 512)])
        return float((pred == self.yte).float().mean())

    def evaluate(self):
        return {"eval/accuracy": self._accuracy()}

    def _grid(self, rows, titles):
        """A figure of image rows (lists of 2D arrays) with per-column titles for the first row."""
        fig, axes = plt.subplots(len(rows), len(rows[0]), figsize=(1.6 * len(rows[0]), 1.7 * len(rows)), squeeze=False)
        for r, row in enumerate(rows):
            for c, img in enumerate(row):
                axes[r, c].imshow(img, cmap="gray" if r == 0 else "hot")
                axes[r, c].axis("off")
                if r == 0 and titles:
                    axes[r, c].set_title(titles[c], fontsize=8)
        fig.tight_layout()
        return fig


def _ink_scenes(x: torch.Tensor, y: torch.Tensor) -> Scenes:
    """One-digit 'scenes' of whole images (N, 1, S, S): each box is the bounding box of the ink."""
    boxes = []
    for img in x[:, 0]:
        rows, cols = (img > INK).any(1).nonzero(), (img > INK).any(0).nonzero()
        if len(rows) == 0:  # a blank image: the whole frame
            rows = cols = torch.tensor([[0], [img.shape[0] - 1]])
        boxes.append(torch.tensor([[cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]], dtype=torch.float32))
    masks = torch.where(x[:, 0] > INK, y.view(-1, 1, 1) + 1, 0)
    return Scenes(x, masks, boxes, [v.view(1) for v in y], [str(int(v)) for v in y])


def mnist_scenes(seed: int, n_train: int, n_test: int, root=None) -> SceneData:
    """The first ``n_train`` / ``n_test`` MNIST training / test images as one-digit scenes."""
    from gymlab.runners.experiments.vision.classifiers import load_data

    ds = load_data("mnist", seed, root)
    train = _ink_scenes(ds.train.x[:n_train], ds.train.y[:n_train])
    test = _ink_scenes(ds.test.x[:n_test], ds.test.y[:n_test])
    return SceneData(train, test, ds.shape[-1], name="mnist")


def box_mask(box, size: int) -> torch.Tensor:
    m = torch.zeros(size, size, dtype=torch.bool)
    x1, y1, x2, y2 = [int(v) for v in box.tolist()]
    m[y1:y2, x1:x2] = True
    return m


@register("saliency", data="scenes", metric="eval/saliency_in_box",
          description="saliency maps: gradient of the class score with respect to the pixels")
class Saliency(SceneClassifier):
    def _maps(self, n):
        self.model.eval()
        x = self.data.test.images[:n].to(self.device)
        return U.saliency(self.model, x, self.yte[:n].to(self.device)).cpu()

    def evaluate(self):
        maps = self._maps(len(self.yte))
        inside = torch.stack([box_mask(b[0], maps.shape[-1]) for b in self.data.test.boxes])
        share = (maps * inside).flatten(1).sum(1) / maps.flatten(1).sum(1).clamp(min=1e-12)
        return {"eval/accuracy": self._accuracy(), "eval/saliency_in_box": float(share.mean()),
                "eval/box_area_share": float(inside.float().mean())}

    def media(self):
        n = self.cfg.n_show
        maps = self._maps(n)
        imgs = self.data.test.images[:n, 0]
        return {"saliency": self._grid([list(imgs), list(maps)], [str(int(y)) for y in self.yte[:n]])}


@register("class-visualization", data="scenes", metric="eval/visualization_confidence",
          description="class visualization: gradient ascent on the input with L2 regularisation")
class ClassVisualization(SceneClassifier):
    def _images(self):
        self.model.eval()
        c = self.cfg
        s = self.size
        return torch.stack([U.class_visualization(self.model, k, (1, s, s), c.vis_steps, c.vis_lr, c.vis_l2,
                                                  init=torch.zeros(1, s, s, device=self.device))
                            for k in range(10)])

    def evaluate(self):
        imgs = self._images()
        with torch.no_grad():
            prob = torch.softmax(self.model(imgs), 1).diagonal()
        return {"eval/accuracy": self._accuracy(), "eval/visualization_confidence": float(prob.mean())}

    def media(self):
        imgs = self._images().cpu()[:, 0]
        fig, axes = plt.subplots(1, 10, figsize=(14, 1.8))
        for k, ax in enumerate(axes):
            ax.imshow(imgs[k], cmap="RdBu_r", vmin=-imgs.abs().max(), vmax=imgs.abs().max())
            ax.set_title(str(k))
            ax.axis("off")
        return {"class_visualization": fig}


@register("occlusion", data="scenes", metric="eval/occlusion_peak_in_box",
          description="occlusion sensitivity: the class score drop as a patch slides over the image")
class Occlusion(SceneClassifier):
    def _maps(self, n):
        self.model.eval()
        c = self.cfg
        return [U.occlusion(self.model, self.data.test.images[i].to(self.device), int(self.yte[i]), c.patch, c.stride).cpu()
                for i in range(n)]

    def evaluate(self):
        n = min(100, len(self.yte))
        c = self.cfg
        hits = 0
        for i, m in enumerate(self._maps(n)):
            r, q = divmod(int(m.argmax()), m.shape[1])
            cy, cx = r * c.stride + c.patch / 2, q * c.stride + c.patch / 2  # the patch centre
            x1, y1, x2, y2 = self.data.test.boxes[i][0].tolist()
            hits += (x1 <= cx <= x2) and (y1 <= cy <= y2)
        return {"eval/accuracy": self._accuracy(), "eval/occlusion_peak_in_box": hits / n}

    def media(self):
        n = self.cfg.n_show
        maps = self._maps(n)
        c = self.cfg
        pad = (c.patch - c.stride) // 2  # entry (i, j) drawn at its patch's centre: stride-sized cells, offset
        up = [F.pad(F.interpolate(m[None, None], scale_factor=c.stride, mode="nearest"), (pad,) * 4)[0, 0] for m in maps]
        return {"occlusion": self._grid([list(self.data.test.images[:n, 0]), up], [str(int(y)) for y in self.yte[:n]])}


@register("nearest-neighbours", data="scenes", metric="eval/feature_nn_accuracy",
          description="nearest neighbours in pixel space against feature space")
class NearestNeighbours(SceneClassifier):
    @torch.no_grad()
    def _features(self, images):
        self.model.eval()
        return torch.cat([self.model.embed(c.to(self.device)).cpu() for c in torch.split(images, 512)])

    def evaluate(self):
        tr, te = self.data.train.images, self.data.test.images
        pix = U.neighbour_accuracy(te, self.yte, tr, self.ytr, self.cfg.k)
        feat = U.neighbour_accuracy(self._features(te), self.yte, self._features(tr), self.ytr, self.cfg.k)
        return {"eval/accuracy": self._accuracy(), "eval/pixel_nn_accuracy": pix, "eval/feature_nn_accuracy": feat}

    def media(self):
        n, k = 6, 5
        q = self.data.test.images[:n]
        rows_pix = U.nearest_neighbours(q, self.data.train.images, k)
        rows_feat = U.nearest_neighbours(self._features(q), self._features(self.data.train.images), k)
        fig, axes = plt.subplots(n, 2 * k + 1, figsize=(1.1 * (2 * k + 1), 1.2 * n))
        for i in range(n):
            cells = [q[i, 0]] + [self.data.train.images[j, 0] for j in rows_pix[i]] + \
                    [self.data.train.images[j, 0] for j in rows_feat[i]]
            for c, img in enumerate(cells):
                axes[i, c].imshow(img, cmap="gray")
                axes[i, c].axis("off")
        axes[0, 0].set_title("query", fontsize=8)
        axes[0, 1].set_title("pixel-space neighbours ->", fontsize=8, loc="left")
        axes[0, k + 1].set_title("feature-space neighbours ->", fontsize=8, loc="left")
        fig.tight_layout()
        return {"nearest_neighbours": fig}
