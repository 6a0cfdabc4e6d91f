"""`captioning`: caption digit scenes ("3 left of 7") with a CNN encoder and an attention LSTM
decoder (vision.detect.captioning); exact match and BLEU-4 of greedy decoding (eval/exact_match,
eval/bleu4, eval/val_exact_match) and of beam search (eval/beam_*) on the test scenes, against the
majority baseline (eval/majority_*: always the most frequent training caption)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gymlab.runners.templates.scenes import SceneConfig, SceneExperiment
from gymlab.runners.registry import register
from gymlab.vision.data.scenes import load_scenes
from gymlab.vision.detect import captioning as C
from gymlab.vision.nn.backbones import build


@dataclass
class CaptioningConfig(SceneConfig):
    steps: int = 800
    eval_every: int = 400
    min_digits: int = 2  # digits per scene
    max_digits: int = 2
    width: int = 16  # vgg encoder widths width, 2 width, 4 width: a 4x4 grid of 4 width features
    embed: int = 32  # word embedding size
    hidden: int = 128  # LSTM state size
    att_dim: int = 64  # attention's hidden size
    beam: int = 3  # beam width
    n_beam_eval: int = 200  # test scenes decoded by beam search (it runs one image at a time)


@register("captioning", data="scenes", metric="eval/exact_match", select="eval/val_exact_match",
          description="CNN encoder + attention LSTM decoder captions digit scenes; greedy and beam decoding")
class Captioning(SceneExperiment):
    Config, clip = CaptioningConfig, 5.0

    def data(self, cfg):
        self.vocab, self.max_len = C.Vocab(), 2 + 3 * (cfg.max_digits - 1) + 1
        scenes = load_scenes(cfg.seed, cfg.n_train, cfg.n_test, min_digits=cfg.min_digits, max_digits=cfg.max_digits)
        self.majority = Counter(scenes.train.captions[:cfg.n_train - cfg.n_val]).most_common(1)[0][0]
        return self.scene_splits(cfg, scenes, lambda s: (s.images, self.vocab.encode(s.captions)))

    def build(self, cfg, shape, classes):
        w = cfg.width
        enc = build("vgg", 1, shape[-1], classes, widths=(w, 2 * w, 4 * w), convs=(1, 1, 2))
        return C.Captioner(enc, len(self.vocab), cfg.embed, cfg.hidden, cfg.att_dim)

    def loss(self, model, batch):
        images, tokens = batch
        return C.caption_loss(model, images, tokens[:, :int((tokens != 0).sum(1).max())]), {}

    def evaluate(self):
        self.model.eval()
        s, c = self.scenes, self.cfg
        report = C.caption_report(self.model, self.vocab, (s.test.images, s.test.captions),
                                  (self.val[0], s.train.captions[-len(self.val[0]):]), self.majority, c.beam,
                                  c.n_beam_eval, self.max_len)
        return {f"eval/{k}": v for k, v in report.items()}

    def media(self):
        self.model.eval()
        test = self.scenes.test
        pred, alphas = C.greedy_captions(self.model, test.images[:12], self.vocab, self.max_len)
        return {"captions_with_attention": C.draw_attention(test.images[:6], test.captions[:6], pred[:6], alphas[:6]),
                "captions": [{"truth": t, "greedy": p} for t, p in zip(test.captions[:12], pred)]}
