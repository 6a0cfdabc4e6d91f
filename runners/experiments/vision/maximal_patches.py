"""`maximal-patches`: for units (channels) of one conv layer of a trained digits classifier, the input
patches (each unit's receptive field) with the highest activations over all the digits, as a grid
(vision.maximal_patches). The top k are streamed over the data in batches; evaluate() checks them
against a brute-force pass (every activation of the whole data set at once, one stable sort):
eval/topk_match is the share of shown units whose k shown (image, position) pairs have, in order,
the brute-force top-k activations (to float round-off; a tie may show another position of equal
value), and eval/outside_change the largest change of a shown activation when every pixel outside
its window is replaced by noise (0 when the window is the receptive field)."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments.vision._digits import DigitsClassifier, DigitsClassifierConfig
from gymlab.runners.registry import register
from gymlab.vision.understand import maximal_patches as MP


@dataclass
class MaximalPatchesConfig(DigitsClassifierConfig):
    layer: int = 1  # conv layer (0-based); with convs=2: 0 sees 3x3, 1 sees 5x5, 2 sees 10x10 pixels
    units: int = 8  # units shown: the most active ones (largest top activation)
    k: int = 8  # patches per unit
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
        if cfg.units < 1 or cfg.k < 1:
            raise GymlabError(f"bad value for 'units' or 'k': both must be >= 1, got {cfg.units}, {cfg.k}")
        self.prefix = MP.truncate(self.net.body, cfg.layer)
        self.rf = MP.receptive_field(self.prefix)
        self.images = torch.cat([self.xtr, self.xva, self.xte])  # "over the dataset": every digit

    def _layer(self, x):
        self.net.eval()
        return self.prefix(x)

    def top(self):
        """(units, values (U, k), where (U, k, 3)) of the most active units, from the streaming pass."""
        v, w = MP.top_activations(self._layer, self.images, self.cfg.k, self.cfg.batch_size_scan)
        units = torch.argsort(v[:, 0], descending=True, stable=True)[:self.cfg.units]
        return units, v[units], w[units]

    @torch.no_grad()
    def brute_force(self, units):
        """The same top k from all activations at once: (values (U, k), where (U, k, 3), activations (N, U, H, W))."""
        a = self._layer(self.images).float()[:, units]  # (N, U, H, W)
        n, u, h, w = a.shape
        flat = a.permute(1, 0, 2, 3).reshape(u, -1)
        order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :self.cfg.k]
        return flat.gather(1, order), torch.stack([order // (h * w), order % (h * w) // w, order % w], -1), a

    @torch.no_grad()
    def outside_change(self, units, where) -> float:
        """Largest |a(x) - a(x')| over the shown patches, x' = x with every pixel outside the window noise."""
        g = torch.Generator().manual_seed(self.cfg.seed + 1)
        worst = 0.0
        for u, row in zip(units.tolist(), where.tolist()):
            for i, r, c in row:
                x = self.images[i:i + 1]
                m = MP.window_mask(self.rf, r, c, *x.shape[-2:]).to(x.device)
                noisy = torch.where(m, x, torch.rand(x.shape, generator=g).to(x.device))
                pair = self._layer(torch.cat([x, noisy]))[:, u, r, c]
                worst = max(worst, float((pair[0] - pair[1]).abs()))
        return worst

    def evaluate(self):
        units, v, w = self.top()
        bv, bw, a = self.brute_force(units)
        # the shown (image, row, column) have the brute-force top-k activations, in order; a tie may
        # pick another position of equal value, and the two passes may differ in the last bits
        shown = torch.stack([a[w[u, :, 0], u, w[u, :, 1], w[u, :, 2]] for u in range(len(units))])
        tol = 1e-5 * max(1.0, float(bv.abs().max()))
        match = (((v - bv).abs() <= tol) & ((shown - bv).abs() <= tol)).all(1).float().mean()
        return {"eval/accuracy": self.accuracy(self.xte, self.yte), "eval/topk_match": float(match),
                "eval/outside_change": self.outside_change(units, w), "eval/receptive_field": self.rf.size,
                "eval/top_activation": float(v[:, 0].mean())}

    def media(self):
        units, v, w = self.top()
        patches = MP.extract_patches(self.images.cpu(), w.cpu(), self.rf)[:, :, 0]  # (U, k, R, R)
        U, k = patches.shape[:2]
        fig, axes = plt.subplots(U, k + 1, figsize=(1.1 * (k + 1), 1.15 * U), squeeze=False)
        for r in range(U):
            axes[r, 0].text(0.5, 0.5, f"unit {int(units[r])}", ha="center", va="center", fontsize=8)
            axes[r, 0].axis("off")
            for c in range(k):
                axes[r, c + 1].imshow(patches[r, c], cmap="gray", vmin=0, vmax=1)
                axes[r, c + 1].set_title(f"{float(v[r, c]):.2f}", fontsize=6)
                axes[r, c + 1].axis("off")
        fig.suptitle(f"conv layer {self.cfg.layer}: top-{k} {self.rf.size}x{self.rf.size} patches per unit "
                     f"(activation above each)", fontsize=9)
        fig.tight_layout()
        # the same patches in their images: the receptive field drawn as a box
        fig2, axes2 = plt.subplots(min(U, 4), k, figsize=(1.1 * k, 1.2 * min(U, 4)), squeeze=False)
        for r in range(min(U, 4)):
            for c in range(k):
                i, row, col = w[r, c].tolist()
                ax = axes2[r, c]
                ax.imshow(self.images[i, 0].cpu(), cmap="gray", vmin=0, vmax=1)
                y0, x0 = row * self.rf.stride - self.rf.offset - 0.5, col * self.rf.stride - self.rf.offset - 0.5
                ax.add_patch(plt.Rectangle((x0, y0), self.rf.size, self.rf.size, fill=False, ec="red", lw=1.2))
                ax.set_xlim(-0.5 - self.rf.offset, 7.5 + self.rf.offset)
                ax.set_ylim(7.5 + self.rf.offset, -0.5 - self.rf.offset)
                ax.axis("off")
        fig2.tight_layout()
        return {"maximal_patches": fig, "patches_in_context": fig2}
