"""`captioning`: caption digit scenes ("3 left of 7") with a CNN encoder and an attention LSTM
decoder (vision.captioning); exact match and BLEU-4 of greedy and beam decoding on the test scenes,
against the majority baseline (always the most frequent training caption)."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gymlab.runners.experiments._shared import Checkpointed, SceneConfig, batch_indices, check_scenes
from gymlab.runners.registry import register
from gymlab.vision.nn.backbones import build
from gymlab.vision.detect.captioning import Captioner, Vocab, beam_decode, bleu, caption_loss, greedy_decode
from gymlab.vision.data.scenes import load_scenes


@dataclass
class CaptioningConfig(SceneConfig):
    steps: int = 800
    eval_every: int = 400
    min_digits: int = 2
    max_digits: int = 2
    width: int = 16  # vgg encoder widths width, 2 width, 4 width: a 4x4 grid of 4 width features
    embed: int = 32
    hidden: int = 128
    att_dim: int = 64
    beam: int = 3
    n_beam_eval: int = 200  # test scenes decoded by beam search (it runs one image at a time)


@register("captioning", data="scenes", metric="eval/exact_match", select="eval/val_exact_match",
          description="CNN encoder + attention LSTM decoder captions digit scenes; greedy and beam decoding")
class Captioning(Checkpointed):
    Config = CaptioningConfig

    def setup(self, cfg: CaptioningConfig, ctx):
        check_scenes(cfg)
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        self.data = load_scenes(cfg.seed, cfg.n_train, cfg.n_test, min_digits=cfg.min_digits, max_digits=cfg.max_digits)
        self.vocab = Vocab()
        self.max_len = 2 + 3 * (cfg.max_digits - 1) + 1
        self.tokens = self.vocab.encode(self.data.train.captions)
        self.n_fit = cfg.n_train - cfg.n_val
        w = cfg.width
        enc = build("vgg", 1, self.data.size, 10, widths=(w, 2 * w, 4 * w), convs=(1, 1, 2))
        self.model = ctx.prepare_model(Captioner(enc, len(self.vocab), cfg.embed, cfg.hidden, cfg.att_dim))
        self.opt = torch.optim.AdamW(self.model.parameters(), cfg.lr, weight_decay=1e-4)
        per_epoch = math.ceil(self.n_fit / cfg.batch_size)
        self.budget = max(2, math.ceil(cfg.epochs * per_epoch) if cfg.epochs is not None else cfg.steps)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, cfg.lr, total_steps=self.budget, pct_start=0.15)
        self.steps_per_epoch = math.ceil(self.n_fit / cfg.batch_size)
        majority = Counter(self.data.train.captions[:self.n_fit]).most_common(1)[0][0]
        self.majority = majority
        self.step = 0

    def train_step(self):
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, self.n_fit, self.cfg.batch_size))
        tok = self.tokens[idx]
        tok = tok[:, :int((tok != 0).sum(1).max())].to(self.device)
        self.model.train()
        with self.ctx.autocast():
            loss = caption_loss(self.model, self.data.train.images[idx].to(self.device), tok)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.opt.step()
        if self.step < self.budget - 1:
            self.sched.step()
        self.step += 1
        return {"train/loss": loss.item(), "train/epoch": self.step / self.steps_per_epoch}

    def greedy(self, images):
        self.model.eval()
        words, alphas = [], []
        for chunk in torch.split(images, 256):
            w, a = greedy_decode(self.model, chunk.to(self.device), self.max_len)
            words += [self.vocab.decode(s) for s in w.cpu()]
            alphas.append(a.cpu())
        return words, alphas

    def _scores(self, pred, truth, prefix):
        exact = sum(p == t for p, t in zip(pred, truth)) / len(truth)
        b = bleu([p.split() for p in pred], [[t.split()] for t in truth])
        return {f"{prefix}exact_match": exact, f"{prefix}bleu4": b}

    def evaluate(self):
        test = self.data.test
        pred, _ = self.greedy(test.images)
        out = self._scores(pred, test.captions, "eval/")
        val = list(range(self.n_fit, self.cfg.n_train))
        vpred, _ = self.greedy(self.data.train.images[val])
        out["eval/val_exact_match"] = self._scores(vpred, [self.data.train.captions[i] for i in val], "v")["vexact_match"]
        n = min(self.cfg.n_beam_eval, len(test))
        self.model.eval()
        beam = [self.vocab.decode(beam_decode(self.model, test.images[i].to(self.device), self.cfg.beam, self.max_len)[0])
                for i in range(n)]
        bs = self._scores(beam, test.captions[:n], "")
        gs = self._scores(pred[:n], test.captions[:n], "")
        out.update({"eval/beam_exact_match": bs["exact_match"], "eval/beam_bleu4": bs["bleu4"],
                    "eval/greedy_exact_match_beam_subset": gs["exact_match"],
                    **self._scores([self.majority] * len(test), test.captions, "eval/majority_")})
        return out

    def media(self):
        n = 6
        test = self.data.test
        pred, alphas = self.greedy(test.images[:n])
        alphas = alphas[0]
        steps = alphas.shape[1]
        s = int(round(alphas.shape[2] ** 0.5))
        fig, axes = plt.subplots(n, steps + 1, figsize=(1.5 * (steps + 1), 1.6 * n), squeeze=False)
        for i in range(n):
            words = pred[i].split() + ["<eos>"]
            axes[i, 0].imshow(test.images[i, 0], cmap="gray")
            axes[i, 0].set_title(f"truth: {test.captions[i]}", fontsize=7)
            for t in range(steps):
                ax = axes[i, t + 1]
                ax.axis("off")
                if t >= len(words):
                    continue
                att = F.interpolate(alphas[i, t].view(1, 1, s, s), size=test.images.shape[-2:], mode="bilinear",
                                    align_corners=False)[0, 0]
                ax.imshow(test.images[i, 0], cmap="gray")
                ax.imshow(att, cmap="jet", alpha=0.45)
                ax.set_title(words[t], fontsize=8)
            axes[i, 0].axis("off")
        fig.tight_layout()
        rows = [{"truth": t, "greedy": p} for t, p in zip(test.captions[:12], self.greedy(test.images[:12])[0])]
        return {"captions_with_attention": fig, "captions": rows}
