"""Generative models: PixelRNN, PixelCNN, autoencoders, VAE, GAN, their losses and metrics."""
