"""`maximal-patches`: for units (channels) of one conv layer of a trained digits classifier, the input
patches (each unit's receptive field) with the highest activations over all the digits, as a grid
(vision.understand.maximal_patches). The top k are streamed over the data in batches and checked against
a brute-force pass: eval/topk_match (the share of shown units whose k patches have, in order, the
brute-force top-k activations) and eval/outside_change (the largest change of a shown activation when
every pixel outside its window is noise: 0 when the window is the receptive field)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments.vision._digits import AT_LEAST_1, DigitsClassifier, DigitsClassifierConfig
from gymlab.runners.registry import register
from gymlab.vision.understand import maximal_patches as MP


@dataclass
class MaximalPatchesConfig(DigitsClassifierConfig):
    layer: int = 1  # conv layer (0-based); with convs=2: 0 sees 3x3, 1 sees 5x5, 2 sees 10x10 pixels
    units: int = field(default=8, metadata=AT_LEAST_1)  # units shown: the most active ones (largest top activation)
    k: int = field(default=8, metadata=AT_LEAST_1)  # patches per unit
    batch_size_scan: int = 256  # images per batch of the streaming pass


@register("maximal-patches", data="digits", metric="eval/topk_match",
          description="maximally activating patches (receptive fields) of conv units, checked by brute force")
class MaximalPatches(DigitsClassifier):
    Config = MaximalPatchesConfig

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        n_convs = len(MP.conv_positions(self.net.body))
        if not 0 <= cfg.layer < n_convs:
            raise GymlabError(f"bad value for 'layer': {cfg.layer}; valid: 0..{n_convs - 1}")
        self.prefix = MP.truncate(self.net.body, cfg.layer)
        self.rf = MP.receptive_field(self.prefix)
        self.images = torch.cat([self.train[0], self.val[0], self.test[0]])  # "over the dataset": every digit

    def layer(self, x):
        self.net.eval()
        return self.prefix(x)

    def top(self):
        return MP.top_units(self.layer, self.images, self.cfg.units, self.cfg.k, self.cfg.batch_size_scan)

    def evaluate(self):
        found = MP.verify_top(self.layer, self.images, self.top(), self.rf, self.cfg.seed + 1)
        return {**super().evaluate(), **{f"eval/{k}": v for k, v in found.items()}}

    def media(self):
        (units, v, w), rf = self.top(), self.rf
        title = f"conv layer {self.cfg.layer}: top-{self.cfg.k} {rf.size}x{rf.size} patches per unit (activation above)"
        return {"maximal_patches": MP.draw_patches(self.images, units, v, w, rf, title),
                "patches_in_context": MP.draw_in_context(self.images, w, rf)}
