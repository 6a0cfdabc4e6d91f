"""The shared PyTorch library of gymlab: data, layers, backbones, classifiers, detectors,
segmenters, model understanding and efficient inference. Knows nothing of W&B, the CLI or Ray."""
