"""`segmenter`: per-pixel digit classes on the synthetic scenes (vision.segmentation): an FCN with a
transpose-convolution decoder (variant=fcn), max-unpooling with the pooling indices (variant=unpool)
or a U-Net with skips (variant=unet); pixel accuracy and mIoU over background + 10 digits.

Seed 0 on one CPU core, test mIoU at the default budget (600 steps, one conv per stage): unet 0.84,
fcn 0.43, unpool 0.31. Without skips the decoder must rebuild the digits' outlines from a 4x4 grid and
learns more slowly (unpool reaches 0.77 with convs=2 steps=1200)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gymlab.runners.experiments._shared import Checkpointed, SceneConfig, batch_indices, check_scenes
from gymlab.runners.media import Masks
from gymlab.runners.registry import register
from gymlab.vision.data.scenes import load_scenes
from gymlab.vision.detect.segmentation import VARIANTS, SegNet, confusion_matrix, iou_per_class, mean_iou, pixel_accuracy


@dataclass
class SegmenterConfig(SceneConfig):
    steps: int = 600
    eval_every: int = 300
    weight_decay: float = 1e-4
    variant: Literal[tuple(VARIANTS)] = "unet"  # fcn | unpool | unet
    width: int = 16  # encoder widths width, 2 width, 4 width (three poolings)
    convs: int = 1  # conv-BN-ReLU layers per stage


@register("segmenter", data="scenes", metric="eval/miou", select="eval/val_miou",
          description="FCN segmenter on digit scenes: transpose-conv, max-unpooling or U-Net decoder")
class Segmenter(Checkpointed):
    Config = SegmenterConfig

    def setup(self, cfg: SegmenterConfig, ctx):
        check_scenes(cfg)
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        self.data = load_scenes(cfg.seed, cfg.n_train, cfg.n_test)
        self.n_fit = cfg.n_train - cfg.n_val
        w = cfg.width
        self.model = ctx.prepare_model(SegNet(11, 1, (w, 2 * w, 4 * w), cfg.variant, cfg.convs))
        self.opt = torch.optim.AdamW(self.model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
        per_epoch = math.ceil(self.n_fit / cfg.batch_size)
        self.budget = max(2, math.ceil(cfg.epochs * per_epoch) if cfg.epochs is not None else cfg.steps)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, cfg.lr, total_steps=self.budget, pct_start=0.15)
        self.steps_per_epoch = math.ceil(self.n_fit / cfg.batch_size)
        self.step = 0

    def train_step(self):
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, self.n_fit, self.cfg.batch_size))
        self.model.train()
        with self.ctx.autocast():
            out = self.model(self.data.train.images[idx].to(self.device))
        loss = F.cross_entropy(out.float(), self.data.train.masks[idx].to(self.device))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.step < self.budget - 1:
            self.sched.step()
        self.step += 1
        return {"train/loss": loss.item(), "train/epoch": self.step / self.steps_per_epoch}

    @torch.no_grad()
    def predict(self, images):
        self.model.eval()
        out = []
        for chunk in torch.split(images, 256):
            with self.ctx.autocast():
                out.append(self.model(chunk.to(self.device)).argmax(1).cpu())
        return torch.cat(out)

    def evaluate(self):
        conf = confusion_matrix(self.predict(self.data.test.images), self.data.test.masks, 11)
        val = slice(self.n_fit, self.cfg.n_train)
        conf_val = confusion_matrix(self.predict(self.data.train.images[val]), self.data.train.masks[val], 11)
        iou = iou_per_class(conf)
        return {"eval/miou": mean_iou(conf), "eval/pixel_accuracy": pixel_accuracy(conf),
                "eval/val_miou": mean_iou(conf_val), "eval/iou_background": float(iou[0]),
                **{f"eval/iou_digit{k}": float(iou[k + 1]) for k in range(10)}}

    def media(self):
        n = 8
        pred = self.predict(self.data.test.images[:n])
        fig, axes = plt.subplots(3, n, figsize=(1.8 * n, 5.6))
        for i in range(n):
            for r, (img, kw) in enumerate([(self.data.test.images[i, 0], dict(cmap="gray")),
                                           (self.data.test.masks[i], dict(cmap="tab20", vmin=0, vmax=19)),
                                           (pred[i], dict(cmap="tab20", vmin=0, vmax=19))]):
                axes[r, i].imshow(img, interpolation="nearest", **kw)
                axes[r, i].axis("off")
            axes[0, i].set_title(self.data.test.captions[i], fontsize=7)
        axes[1, 0].set_title("truth", fontsize=8, loc="left")
        axes[2, 0].set_title(f"predicted ({self.cfg.variant})", fontsize=8, loc="left")
        fig.tight_layout()
        test = self.data.test
        # W&B: native mask overlays (truth and prediction) that a user can toggle class by class
        overlays = Masks(test.images[:n], test.masks[:n].numpy(), pred.numpy(),
                         {0: "background", **{c + 1: str(c) for c in range(10)}}, list(test.captions[:n]))
        return {"masks": fig, "mask_overlays": overlays}
