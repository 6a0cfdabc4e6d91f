"""Visualising and understanding a CNN (vision.understand.understanding). Each experiment trains the same
classifier (the supervised template) on one-digit scenes (a digit of 10-16 pixels somewhere on a 32x32
canvas; the label is the digit) and then looks inside it:

- `saliency`: gradients of the class score with respect to the pixels; eval/saliency_in_box is the
  share of the saliency that falls inside the digit's box (uniform maps give eval/box_area_share);
- `class-visualization`: gradient ascent on the input with L2 regularisation, one image per class;
- `occlusion`: score drop as a patch slides over the image; eval/occlusion_peak_in_box: how often the
  largest drop is on the digit;
- `nearest-neighbours`: nearest training scenes of test scenes in pixel space against feature space
  (the classifier's globally max-pooled conv features): eval/pixel_nn_accuracy against eval/feature_nn_accuracy.

``data=mnist`` trains on the first ``n_train`` MNIST training images (28x28) and looks at the first
``n_test`` test images; a digit's box is the bounding box of its ink (vision.data.scenes.ink_scenes)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F

from gymlab.runners.config import DataConfig, OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.supervised import Splits, Supervised, SupervisedConfig, load_images
from gymlab.vision.classify.transfer import PooledClassifier
from gymlab.vision.data.scenes import SceneData, box_masks, ink_scenes, load_scenes
from gymlab.vision.nn.backbones import build
from gymlab.vision.understand import understanding as U


@dataclass
class UnderstandingData(DataConfig):
    name: Literal["scenes", "mnist"] = "scenes"  # one-digit scenes (vision.data.scenes) | mnist


@dataclass
class UnderstandingConfig(SupervisedConfig):
    steps: int = 300
    epochs: Optional[float] = None  # budget in epochs (overrides steps)
    eval_every: int = 300
    batch_size: int = 32
    data: UnderstandingData = group(UnderstandingData)
    optim: OptimConfig = group(OptimConfig, lr=3e-3)
    n_train: int = 1500  # training scenes (mnist: the first n_train training images)
    n_test: int = 300  # test scenes looked at
    width: int = 16  # vgg stage widths width, 2 width, 4 width
    n_show: int = 8  # scenes in the media
    vis_steps: int = 200  # class visualization: ascent steps
    vis_lr: float = 0.5  # class visualization: step size
    vis_l2: float = 0.05  # class visualization: L2 penalty
    patch: int = 8  # occlusion: patch size
    stride: int = 2  # occlusion: patch stride
    k: int = 1  # nearest neighbours: the majority of k decides


class SceneClassifier(Supervised):
    """Trains a small VGG with global max pooling on one-digit scenes; subclasses add their metrics and media."""

    Config = UnderstandingConfig
    eval_splits = ("test",)

    def data(self, cfg):
        if cfg.data.name == "mnist":
            ds, n, m = load_images(cfg.data, cfg.seed), cfg.n_train, cfg.n_test
            self.scenes = SceneData(ink_scenes(ds.train.x[:n], ds.train.y[:n]), ink_scenes(ds.test.x[:m], ds.test.y[:m]),
                                    ds.shape[-1], name="mnist")
        else:
            self.scenes = load_scenes(cfg.seed, cfg.n_train, cfg.n_test, min_digits=1, max_digits=1)
        (tr, ytr), (te, yte) = ((s.images, torch.stack([lab[0] for lab in s.labels]))
                                for s in (self.scenes.train, self.scenes.test))
        return Splits((tr, ytr), (te[:0], yte[:0]), (te, yte), (1, self.scenes.size, self.scenes.size), 10)

    def build(self, cfg, shape, classes):
        w = cfg.width
        return PooledClassifier(build("vgg", 1, shape[-1], classes, widths=(w, 2 * w, 4 * w), convs=(1, 1, 2)))

    def loss(self, model, batch):
        scores = model(batch[0]).float()
        return F.cross_entropy(scores, batch[1]), {"accuracy": (scores.argmax(1) == batch[1]).float().mean()}

    def titles(self, n):
        return [str(int(y)) for y in self.test[1][:n]]


@register("saliency", data="scenes", metric="eval/saliency_in_box",
          description="saliency maps: gradient of the class score with respect to the pixels")
class Saliency(SceneClassifier):
    def maps(self, n):
        self.model.eval()
        return U.saliency(self.model, self.test[0][:n], self.test[1][:n]).cpu()

    def evaluate(self):
        inside = box_masks(torch.cat([b[:1] for b in self.scenes.test.boxes]), self.scenes.size)
        share, area = U.mass_in_box(self.maps(len(inside)), inside)
        return {**super().evaluate(), "eval/saliency_in_box": share, "eval/box_area_share": area}

    def media(self):
        n = self.cfg.n_show
        return {"saliency": U.draw_rows([list(self.scenes.test.images[:n, 0]), list(self.maps(n))], self.titles(n))}


@register("class-visualization", data="scenes", metric="eval/visualization_confidence",
          description="class visualization: gradient ascent on the input with L2 regularisation")
class ClassVisualization(SceneClassifier):
    def images(self):
        self.model.eval()
        c, s = self.cfg, self.scenes.size
        return torch.stack([U.class_visualization(self.model, k, (1, s, s), c.vis_steps, c.vis_lr, c.vis_l2,
                                                  init=torch.zeros(1, s, s, device=self.device)) for k in range(10)])

    def evaluate(self):
        images = self.images()
        with torch.no_grad():
            prob = torch.softmax(self.model(images), 1).diagonal()
        return {**super().evaluate(), "eval/visualization_confidence": float(prob.mean())}

    def media(self):
        return {"class_visualization": U.draw_class_images(self.images().cpu()[:, 0])}


@register("occlusion", data="scenes", metric="eval/occlusion_peak_in_box",
          description="occlusion sensitivity: the class score drop as a patch slides over the image")
class Occlusion(SceneClassifier):
    def maps(self, n):
        self.model.eval()
        x, y, c = self.test[0], self.test[1], self.cfg
        return [U.occlusion(self.model, x[i], int(y[i]), c.patch, c.stride).cpu() for i in range(n)]

    def evaluate(self):
        n, c = min(100, len(self.test[1])), self.cfg
        boxes = [b[0].tolist() for b in self.scenes.test.boxes[:n]]
        return {**super().evaluate(), "eval/occlusion_peak_in_box": U.peak_in_box(self.maps(n), boxes, c.patch, c.stride)}

    def media(self):
        n, c = self.cfg.n_show, self.cfg
        maps = [U.upsample_occlusion(m, c.patch, c.stride) for m in self.maps(n)]
        return {"occlusion": U.draw_rows([list(self.scenes.test.images[:n, 0]), maps], self.titles(n))}


@register("nearest-neighbours", data="scenes", metric="eval/feature_nn_accuracy",
          description="nearest neighbours in pixel space against feature space")
class NearestNeighbours(SceneClassifier):
    def features(self, images):
        self.model.eval()
        return U.embed_all(self.model.embed, images, self.device)

    def evaluate(self):
        (tr, ytr), (te, yte) = (tuple(t.cpu() for t in s) for s in (self.train, self.test))
        k = self.cfg.k
        return {**super().evaluate(), "eval/pixel_nn_accuracy": U.neighbour_accuracy(te, yte, tr, ytr, k),
                "eval/feature_nn_accuracy": U.neighbour_accuracy(self.features(te), yte, self.features(tr), ytr, k)}

    def media(self):
        q, bank = self.scenes.test.images[:6], self.scenes.train.images
        rows_pix = U.nearest_neighbours(q, bank, 5)
        rows_feat = U.nearest_neighbours(self.features(q), self.features(bank), 5)
        return {"nearest_neighbours": U.draw_neighbours(q, bank, rows_pix, rows_feat)}
