"""`detector`: a YOLO-style single-shot detector (vision.detection) on the synthetic digit scenes,
scored by mAP@0.5 (vision.boxes) on the test scenes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments._shared import Checkpointed, SceneConfig, batch_indices, check_scenes
from gymlab.runners.media import Boxes
from gymlab.runners.registry import register
from gymlab.vision.detect.boxes import mean_average_precision
from gymlab.vision.nn.backbones import BACKBONES, build
from gymlab.vision.detect.detection import YOLO, decode, yolo_loss
from gymlab.vision.data.scenes import draw_scenes, load_scenes


@dataclass
class DetectorConfig(SceneConfig):
    steps: int = 500
    eval_every: int = 250
    weight_decay: float = 1e-4
    image_size: int = 32
    max_digits: int = 3
    backbone: Literal[tuple(BACKBONES)] = "vgg"  # any of vision.backbones; its feature map is the grid (vgg: 4x4 on 32x32)
    width: int = 16  # vgg only: stage widths width, 2 width, 4 width with 1, 1, 2 convs
    boxes_per_cell: int = 2
    lambda_coord: float = 5.0
    lambda_noobj: float = 0.5
    score_threshold: float = 0.05
    nms_iou: float = 0.5


@register("detector", data="scenes", metric="eval/map50", select="eval/val_map50",
          description="YOLO-style single-shot detector on digit scenes (grid, B boxes + C classes per cell)")
class Detector(Checkpointed):
    Config = DetectorConfig

    def setup(self, cfg: DetectorConfig, ctx):
        check_scenes(cfg)
        if cfg.image_size % 8:
            raise GymlabError(f"bad value for 'image_size': {cfg.image_size}; it must be a multiple of 8")
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        self.data = load_scenes(cfg.seed, cfg.n_train, cfg.n_test, size=cfg.image_size, max_digits=cfg.max_digits,
                                min_px=round(cfg.image_size * 10 / 32), max_px=round(cfg.image_size / 2))
        self.n_fit = cfg.n_train - cfg.n_val
        w = cfg.width
        kw = dict(widths=(w, 2 * w, 4 * w), convs=(1, 1, 2)) if cfg.backbone == "vgg" else {}
        model = YOLO(build(cfg.backbone, 1, cfg.image_size, 10, **kw), 10, cfg.boxes_per_cell)
        self.model = ctx.prepare_model(model)
        self.opt = torch.optim.AdamW(self.model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
        per_epoch = math.ceil(self.n_fit / cfg.batch_size)
        self.budget = max(2, math.ceil(cfg.epochs * per_epoch) if cfg.epochs is not None else cfg.steps)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, cfg.lr, total_steps=self.budget, pct_start=0.15)
        self.steps_per_epoch = math.ceil(self.n_fit / cfg.batch_size)
        self.step = 0

    def _loss(self, out, idx):
        tr = self.data.train
        return yolo_loss(out, [tr.targets(i) for i in idx.tolist()], self.cfg.image_size, self.cfg.boxes_per_cell,
                         self.cfg.lambda_coord, self.cfg.lambda_noobj)

    def train_step(self):
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, self.n_fit, self.cfg.batch_size))
        self.model.train()
        with self.ctx.autocast():
            out = self.model(self.data.train.images[idx].to(self.device))
        loss, parts = self._loss(out.float(), idx)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.step < self.budget - 1:
            self.sched.step()
        self.step += 1
        return {"train/loss": loss.item(), **{f"train/{k}": v for k, v in parts.items()},
                "train/epoch": self.step / self.steps_per_epoch}

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> list:
        self.model.eval()
        preds = []
        for chunk in torch.split(images, 256):
            with self.ctx.autocast():
                out = self.model(chunk.to(self.device))
            preds += decode(out, self.cfg.image_size, self.cfg.boxes_per_cell, self.cfg.score_threshold,
                            self.cfg.nms_iou)
        return preds

    def _map(self, scenes, idx):
        preds = self.predict(scenes.images[idx])
        return mean_average_precision(preds, [scenes.targets(i) for i in idx])

    def evaluate(self):
        test_map, aps = self._map(self.data.test, list(range(len(self.data.test))))
        val_map, _ = self._map(self.data.train, list(range(self.n_fit, self.cfg.n_train)))
        return {"eval/map50": test_map, "eval/val_map50": val_map,
                **{f"eval/ap50_class{c}": v for c, v in aps.items()}}

    def media(self):
        idx = list(range(8))
        preds = self.predict(self.data.test.images[idx])
        preds = [{k: v[p["scores"] > 0.3] for k, v in p.items()} for p in preds]
        test = self.data.test
        # W&B: native box overlays, truth and prediction as separate groups (class labels, scores)
        boxes = Boxes([test.images[i] for i in idx], [test.targets(i) for i in idx], preds,
                      {c: str(c) for c in range(10)}, [test.captions[i] for i in idx])
        return {"scenes": draw_scenes(test, idx), "predictions": boxes}
