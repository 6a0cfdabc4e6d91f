"""`segmenter`: per-pixel digit classes on the synthetic scenes (vision.detect.segmentation): an FCN with a
transpose-convolution decoder (variant=fcn), max-unpooling with the pooling indices (variant=unpool)
or a U-Net with skips (variant=unet); eval/pixel_accuracy and eval/miou over background + 10 digits
(eval/val_miou, eval/iou_background, eval/iou_digit<k>). Without skips the decoder must rebuild the
digits' outlines from a 4x4 grid and learns more slowly."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from gymlab.runners.templates.scenes import SceneConfig, SceneExperiment
from gymlab.runners.media import Masks
from gymlab.runners.registry import register
from gymlab.vision.data.scenes import load_scenes
from gymlab.vision.detect.segmentation import (VARIANTS, SegNet, confusion_matrix, draw_masks, mean_iou,
                                               predict_masks, scores)

NAMES = ["background"] + [f"digit{k}" for k in range(10)]


@dataclass
class SegmenterConfig(SceneConfig):
    steps: int = 600
    eval_every: int = 300
    variant: Literal[tuple(VARIANTS)] = "unet"  # fcn | unpool | unet
    width: int = 16  # encoder widths width, 2 width, 4 width (three poolings)
    convs: int = 1  # conv-BN-ReLU layers per stage


@register("segmenter", data="scenes", metric="eval/miou", select="eval/val_miou",
          description="FCN segmenter on digit scenes: transpose-conv, max-unpooling or U-Net decoder")
class Segmenter(SceneExperiment):
    Config = SegmenterConfig

    def data(self, cfg):
        return self.scene_splits(cfg, load_scenes(cfg.seed, cfg.n_train, cfg.n_test), lambda s: (s.images, s.masks))

    def build(self, cfg, shape, classes):
        # channels-last weights: oneDNN's convolutions then run without reordering each map (faster on CPU)
        return SegNet(classes + 1, 1, (cfg.width, 2 * cfg.width, 4 * cfg.width), cfg.variant,
                      cfg.convs).to(memory_format=torch.channels_last)

    def loss(self, model, batch):
        return F.cross_entropy(model(batch[0]).float(), batch[1]), {}

    def predict(self, images):
        self.model.eval()
        with self.ctx.autocast():
            return predict_masks(self.model, images)

    def evaluate(self):
        conf_val = confusion_matrix(self.predict(self.val[0]), self.val[1].cpu(), 11)
        out = scores(confusion_matrix(self.predict(self.test[0]), self.test[1].cpu(), 11), "eval/", NAMES)
        return {**out, "eval/val_miou": mean_iou(conf_val)}

    def media(self):
        test, pred = self.scenes.test, self.predict(self.scenes.test.images[:8])
        fig = draw_masks(test.images[:8], test.masks[:8], pred, test.captions[:8], f"predicted ({self.cfg.variant})")
        # W&B: native mask overlays (truth and prediction) that a user can toggle class by class
        overlays = Masks(test.images[:8], test.masks[:8].numpy(), pred.numpy(),
                         {0: "background", **{c + 1: str(c) for c in range(10)}}, list(test.captions[:8]))
        return {"masks": fig, "mask_overlays": overlays}
