"""Every generative model of the package on 1 x size x size binary images, with an example input: a
list to profile or compare them by (runners' ``complexity``). A model is added here in one line.

Models without a ``forward`` of their own are profiled through a method (``Method``: the VAE's ELBO)."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class Method(nn.Module):
    """Calls ``model.<method>(*args)`` as its forward, so that hooks see a model without ``forward``."""

    def __init__(self, model: nn.Module, method: str):
        super().__init__()
        self.model, self.method = model, method

    def forward(self, *args):
        return getattr(self.model, self.method)(*args)


def generative_models(size: int) -> list[tuple[str, str, int, Callable[[], tuple]]]:
    """(name, "generative", size, factory -> (model, example args))."""
    from gymlab.generative.autoencoder import Autoencoder
    from gymlab.generative.baselines import FVSBN, IndependentPixels
    from gymlab.generative.gan import Discriminator, Generator
    from gymlab.generative.gated_pixelcnn import GatedPixelCNN
    from gymlab.generative.pixelcnn import PixelCNN
    from gymlab.generative.pixelrnn import PixelRNN
    from gymlab.generative.vae import VAE

    shape = (1, size, size)
    img = lambda: (torch.rand(1, *shape).round(),)  # noqa: E731
    models = {
        "independent-pixels": lambda: (IndependentPixels(shape), img()),
        "fvsbn": lambda: (FVSBN(shape), img()),
        "pixelcnn": lambda: (PixelCNN(), img()),
        "gated-pixelcnn": lambda: (GatedPixelCNN(), img()),
        "pixelrnn-row": lambda: (PixelRNN("row-lstm"), img()),
        "pixelrnn-diagonal": lambda: (PixelRNN("diagonal-bilstm"), img()),
        "autoencoder": lambda: (Autoencoder(shape), img()),
        "vae (elbo)": lambda: (Method(VAE(shape), "elbo"), img()),
        "dcgan-generator": lambda: (Generator(shape, latent=32), (torch.randn(1, 32),)),
        "dcgan-discriminator": lambda: (Discriminator(shape), img()),
    }
    return [(name, "generative", size, factory) for name, factory in models.items()]
