"""Generative models: PixelRNN, PixelCNN, autoencoders, VAE, GAN, their losses and metrics.

One concept a file:
    data.py            binarized digits (8, 16, 28 px), digits-gray, MNIST (static / dynamic), CIFAR-10
    masked.py          masked convolutions (mask A / B, RGB channel groups)
    pixelcnn.py        PixelCNN: mask-A 7x7, residual blocks, per-pixel softmax
    gated_pixelcnn.py  Gated PixelCNN: vertical + horizontal stacks (no blind spot), class conditioning
    pixelrnn.py        PixelRNN: Row LSTM, Diagonal BiLSTM (skew / unskew)
    sampling.py        autoregressive sampling and completion of a half-given image
    baselines.py       independent pixels (Bernoulli) and FVSBN (logistic autoregressive)
    autoencoder.py     undercomplete, sparse (L1, KL), denoising, contractive
    linear_autoencoder.py  a linear autoencoder finds PCA's subspace (principal angles); the comparison
    clustering.py      k-means purity of codes
    vae.py             VAE: ELBO, IWAE bound, beta, Bernoulli / discretized-logistic decoders
    gan.py             DCGAN, minimax and non-saturating losses, conditional
    metrics.py         nats per image, bits per dim, digits-FID (its classifier per data set), inception score
    training.py        the losses (autoregressive NLL, -ELBO, -IWAE_k), fit, the GAN's step and fit_gan
    figures.py         image grids, 2-D code plots, curves and histograms (matplotlib)
"""
