"""Generative experiments on binarized digits (default) and, when present, MNIST / CIFAR-10:
`pixelcnn`, `gated-pixelcnn`, `pixelrnn` (autoregressive.py), `autoencoder`, `vae`, `gan`; shared parts in common.py.

Every likelihood model reports, on the same test split, eval/nll_nats (nats per image) and
eval/bits_per_dim; the VAE's are its IWAE bound (eval/iwae_nats, eval/elbo_nats are the bounds on
log p(x) themselves). Samples of every model are scored by a digits-FID (eval/fid) and an inception
score on the features of a small classifier trained on the same training images.
"""
from gymlab.runners.experiments.generative import autoencoders, autoregressive, gan, vae  # noqa: F401
from gymlab.runners.experiments.generative.common import feature_classifier  # noqa: F401
