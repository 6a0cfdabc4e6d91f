"""Generative experiments: `pixelcnn`, `gated-pixelcnn`, `pixelrnn`, `vae`, `autoencoder`, `gan` on the
images of generative.data (runners.templates.generative), and `pca-autoencoder` on the grey digits."""
