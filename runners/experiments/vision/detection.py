"""`detector`: a YOLO-style single-shot detector (vision.detect.detection) on the synthetic digit scenes,
scored by mAP@0.5 (vision.detect.boxes) on the test scenes (eval/map50; eval/val_map50, eval/ap50_class<c>)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.templates.scenes import SceneConfig, SceneExperiment
from gymlab.runners.media import Boxes
from gymlab.runners.registry import register
from gymlab.vision.data.scenes import draw_scenes, load_scenes, padded_targets, unpad_targets
from gymlab.vision.detect.boxes import mean_average_precision
from gymlab.vision.detect.detection import YOLO, detect, yolo_loss
from gymlab.vision.nn.backbones import BACKBONES, build


@dataclass
class DetectorConfig(SceneConfig):
    steps: int = 500
    eval_every: int = 250
    image_size: int = 32  # scenes are image_size x image_size (a multiple of 8)
    max_digits: int = 3  # digits per scene: 1 to max_digits
    backbone: Literal[tuple(BACKBONES)] = "vgg"  # any of vision.backbones; its feature map is the grid (vgg: 4x4 on 32x32)
    width: int = 16  # vgg only: stage widths width, 2 width, 4 width with 1, 1, 2 convs
    boxes_per_cell: int = 2  # B: boxes each grid cell predicts
    lambda_coord: float = 5.0  # weight of the box-coordinate loss
    lambda_noobj: float = 0.5  # weight of the no-object confidence loss
    score_threshold: float = 0.05  # detections kept for mAP: confidence x class probability above this
    nms_iou: float = 0.5  # non-maximum suppression's IoU


@register("detector", data="scenes", metric="eval/map50", select="eval/val_map50",
          description="YOLO-style single-shot detector on digit scenes (grid, B boxes + C classes per cell)")
class Detector(SceneExperiment):
    Config = DetectorConfig

    def data(self, cfg):
        s = cfg.image_size
        if s % 8:
            raise GymlabError(f"bad value for 'image_size': {s}; it must be a multiple of 8")
        scenes = load_scenes(cfg.seed, cfg.n_train, cfg.n_test, size=s, max_digits=cfg.max_digits,
                             min_px=round(s * 10 / 32), max_px=round(s / 2))
        return self.scene_splits(cfg, scenes, lambda sc: (sc.images, *padded_targets(sc)))

    def build(self, cfg, shape, classes):
        w = cfg.width
        kw = dict(widths=(w, 2 * w, 4 * w), convs=(1, 1, 2)) if cfg.backbone == "vgg" else {}
        model = YOLO(build(cfg.backbone, 1, cfg.image_size, classes, **kw), classes, cfg.boxes_per_cell)
        return model.to(memory_format=torch.channels_last)  # as the segmenter: faster convolutions and pooling on CPU

    def loss(self, model, batch):
        c = self.cfg
        return yolo_loss(model(batch[0]).float(), unpad_targets(*batch[1:]), c.image_size, c.boxes_per_cell,
                         c.lambda_coord, c.lambda_noobj)

    def predict(self, images):
        self.model.eval()
        c = self.cfg
        with self.ctx.autocast():
            return detect(self.model, images, c.image_size, c.boxes_per_cell, c.score_threshold, c.nms_iou)

    def evaluate(self):
        (test_map, aps), (val_map, _) = (mean_average_precision(self.predict(s[0]), unpad_targets(*s[1:]))
                                         for s in (self.test, self.val))
        return {"eval/map50": test_map, "eval/val_map50": val_map, **{f"eval/ap50_class{c}": v for c, v in aps.items()}}

    def media(self):
        test, n = self.scenes.test, 8
        preds = [{k: v[p["scores"] > 0.3] for k, v in p.items()} for p in self.predict(test.images[:n])]
        # W&B: native box overlays, truth and prediction as separate groups (class labels, scores)
        boxes = Boxes(list(test.images[:n]), [test.targets(i) for i in range(n)], preds, {c: str(c) for c in range(10)},
                      test.captions[:n])
        return {"scenes": draw_scenes(test, range(n)), "predictions": boxes}
