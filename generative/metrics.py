"""Honest numbers for generative models.

- ``categorical_nll``: -log p(x) in nats per image from per-sub-pixel logits (B, C, levels, H, W).
- ``bits_per_dim``: nats per image / (D ln 2), D = C * H * W. A model with p = 1/levels everywhere
  scores exactly log2(levels): 1 bit/dim on binary images, 8 on 256 levels.
- A digits-FID: the Frechet distance between Gaussians fitted to the pooled features of a small
  ``vision`` backbone (VGG-style) trained to classify the same data,
      FID = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2}),
  and that classifier's inception score IS = exp(E_x KL(p(y|x) || p(y))).
  ``fid_classifier`` trains that classifier on a ``generative.data`` set (once per process);
  ``sample_scores`` gives FID against the test and validation images and IS of a set of samples.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gymlab.generative import data as gdata
from gymlab.generative.data import to_targets


def categorical_nll(logits: torch.Tensor, x: torch.Tensor, levels: int) -> torch.Tensor:
    """logits (B, C, levels, H, W), images x (B, C, H, W) in [0, 1] -> (B,) nats per image."""
    nll = F.cross_entropy(logits.transpose(1, 2), to_targets(x, levels), reduction="none")
    return nll.flatten(1).sum(1)


def bits_per_dim(nats_per_image, dims: int):
    return nats_per_image / (dims * math.log(2))


# ------------------------------------------------------------------ the feature classifier
def feature_classifier(in_channels: int = 1, image_size: int = 8, num_classes: int = 10) -> nn.Module:
    """A small VGG-style backbone of ``vision`` (one 3x3 conv per stage, widths 32-64-64, then FC-ReLU-FC);
    the FID's features are its penultimate activations (the 128 ReLU units before the last FC layer, as
    FID takes Inception's pre-logit layer)."""
    from gymlab.vision.nn.backbones import build

    return build("vgg", in_channels=in_channels, image_size=max(image_size, 8), num_classes=num_classes,
                 widths=(32, 64, 64), convs=(1, 1, 1), hidden=128, dropout=0.25)


def train_classifier(x: torch.Tensor, y: torch.Tensor, num_classes: int = 10, steps: int = 300,
                     batch_size: int = 64, lr: float = 2e-3, seed: int = 0) -> nn.Module:
    """Train ``feature_classifier`` with Adam on images x in [0, 1] (centred to [-1, 1]); returns it in
    eval mode, wrapped so that it takes [0, 1] images."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = _Centred(feature_classifier(x.shape[1], x.shape[-1], num_classes))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(steps):
            idx = torch.randint(len(x), (batch_size,), generator=g)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


_TRAINED: dict = {}  # (data, size, seed, steps, root) -> the trained classifier


def fid_classifier(data: str = "digits", size: int | None = None, seed: int = 0, steps: int = 300,
                   root=None) -> nn.Module:
    """``train_classifier`` on the training split of ``generative.data.load(data, seed, size)``, trained once
    per process for each argument set (grey training images of mnist-dynamic: one Bernoulli draw fixed by seed)."""
    key = (data, size, seed, steps, root)
    if key not in _TRAINED:
        d = gdata.load(data, seed, size, root=root)
        x = d.data.train.x
        if d.dynamic:
            x = torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))
        _TRAINED[key] = train_classifier(x, d.data.train.y, d.data.num_classes, steps=steps, seed=seed)
    return _TRAINED[key]


class _Centred(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations: the head up to its last linear layer (dropout is off in eval)."""
        return self.net.head[:-1](self.net.features(x * 2 - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


@torch.no_grad()
def feature_stats(classifier: nn.Module, images: torch.Tensor, batch_size: int = 512):
    feats = torch.cat([classifier.embed(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
    f = feats.double().cpu().numpy()
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) between two Gaussians."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    with warnings.catch_warnings():  # ReLU features can be constant: a singular product is expected
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():  # regularise, as the reference FID code does
            eps = np.eye(len(sigma1)) * 1e-6
            covmean = linalg.sqrtm((sigma1 + eps) @ (sigma2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid(classifier: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """The digits-FID between two image sets (B, C, H, W) in [0, 1]."""
    return frechet_distance(*feature_stats(classifier, real), *feature_stats(classifier, fake))


@torch.no_grad()
def inception_score(classifier: nn.Module, images: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))): high when each sample is confidently one class and all classes occur."""
    logp = F.log_softmax(classifier(images), dim=1).double()
    logp_y = torch.logsumexp(logp, 0) - math.log(len(logp))
    return float(torch.exp((logp.exp() * (logp - logp_y)).sum(1).mean()))


def sample_scores(classifier: nn.Module, samples: torch.Tensor, test: torch.Tensor, val: torch.Tensor) -> dict:
    """fid (against ``test``), val_fid (against ``val``) and inception_score of ``samples``."""
    s, test, val = samples.float().cpu(), test.float().cpu(), val.float().cpu()
    return {"fid": fid(classifier, test, s), "val_fid": fid(classifier, val, s),
            "inception_score": inception_score(classifier, s)}
