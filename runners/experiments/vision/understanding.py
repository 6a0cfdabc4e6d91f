"""Visualising and understanding a CNN (vision.understand.understanding). Each experiment trains the same
classifier on one-digit scenes (a digit of 10-16 pixels somewhere on a 32x32 canvas; the label is the
digit; ``data=mnist``: the first n_train / n_test MNIST images, a digit's box the bounding box of its ink)
and then looks inside it:

- `saliency`: gradients of the class score with respect to the pixels; eval/saliency_in_box is the
  share of the saliency inside the digit's box (uniform maps give eval/box_area_share);
- `class-visualization`: gradient ascent on the input with L2 regularisation, one image per class;
- `occlusion`: score drop as a patch slides over the image; eval/occlusion_peak_in_box: how often the
  largest drop is on the digit;
- `nearest-neighbours`: nearest training scenes of test scenes in pixel space against feature space
  (the globally max-pooled conv features): eval/pixel_nn_accuracy against eval/feature_nn_accuracy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch

from gymlab.runners.config import DataConfig, OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.supervised import Classifier, Splits, SupervisedConfig, load_images
from gymlab.vision.classify.transfer import PooledClassifier
from gymlab.vision.data.scenes import first_labels, one_digit_scenes
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


class SceneClassifier(Classifier):
    """Trains a small VGG with global max pooling on one-digit scenes; subclasses add their metrics and media."""

    Config, eval_splits = UnderstandingConfig, ("test",)

    def data(self, cfg):
        ds = load_images(cfg.data, cfg.seed) if cfg.data.name == "mnist" else None
        self.scenes = s = one_digit_scenes(cfg.seed, cfg.n_train, cfg.n_test, ds)
        te, yte = s.test.images, first_labels(s.test)
        return Splits((s.train.images, first_labels(s.train)), (te[:0], yte[:0]), (te, yte), (1, s.size, s.size), 10)

    def build(self, cfg, shape, classes):
        w = cfg.width
        return PooledClassifier(build("vgg", 1, shape[-1], classes, widths=(w, 2 * w, 4 * w), convs=(1, 1, 2)))

    def shown(self, n):
        """The first n test images (n, H, W) and their labels as titles."""
        return list(self.scenes.test.images[:n, 0]), [str(int(y)) for y in self.test[1][:n]]

    def boxes(self, n):
        return torch.cat([b[:1] for b in self.scenes.test.boxes[:n]])


@register("saliency", data="scenes", metric="eval/saliency_in_box",
          description="saliency maps: gradient of the class score with respect to the pixels")
class Saliency(SceneClassifier):
    def maps(self, n=None):
        self.model.eval()
        return U.saliency(self.model, self.test[0][:n], self.test[1][:n]).cpu()

    def evaluate(self):
        share = U.saliency_in_box(self.maps(), self.boxes(None))
        return {**super().evaluate(), **{f"eval/{k}": v for k, v in share.items()}}

    def media(self):
        images, titles = self.shown(self.cfg.n_show)
        return {"saliency": U.draw_rows([images, list(self.maps(self.cfg.n_show))], titles)}


@register("class-visualization", data="scenes", metric="eval/visualization_confidence",
          description="class visualization: gradient ascent on the input with L2 regularisation")
class ClassVisualization(SceneClassifier):
    def images(self):
        self.model.eval()
        c, s = self.cfg, self.scenes.size
        return U.class_visualizations(self.model, 10, (1, s, s), c.vis_steps, c.vis_lr, c.vis_l2)

    def evaluate(self):
        return {**super().evaluate(), "eval/visualization_confidence": self.images()[1]}

    def media(self):
        return {"class_visualization": U.draw_class_images(self.images()[0].cpu()[:, 0])}


@register("occlusion", data="scenes", metric="eval/occlusion_peak_in_box",
          description="occlusion sensitivity: the class score drop as a patch slides over the image")
class Occlusion(SceneClassifier):
    def maps(self, n):
        self.model.eval()
        return U.occlusion_maps(self.model, self.test[0][:n], self.test[1][:n], self.cfg.patch, self.cfg.stride)

    def evaluate(self):
        n, c = min(100, len(self.test[1])), self.cfg
        peak = U.peak_in_box(self.maps(n), self.boxes(n), c.patch, c.stride)
        return {**super().evaluate(), "eval/occlusion_peak_in_box": peak}

    def media(self):
        (images, titles), c = self.shown(self.cfg.n_show), self.cfg
        maps = [U.upsample_occlusion(m, c.patch, c.stride) for m in self.maps(c.n_show)]
        return {"occlusion": U.draw_rows([images, maps], titles)}


@register("nearest-neighbours", data="scenes", metric="eval/feature_nn_accuracy",
          description="nearest neighbours in pixel space against feature space")
class NearestNeighbours(SceneClassifier):
    def evaluate(self):
        self.model.eval()
        nn = U.pixel_and_feature_nn(self.model.embed, self.train, self.test, self.cfg.k, self.device)
        return {**super().evaluate(), **{f"eval/{k}": v for k, v in nn.items()}}

    def media(self):
        self.model.eval()
        s = self.scenes
        return {"nearest_neighbours": U.draw_neighbours(s.test.images[:6], s.train.images, self.model.embed, 5,
                                                        self.device)}
