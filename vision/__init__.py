"""The shared PyTorch library of gymlab, grouped by topic as torchvision groups its models:

    data/        data sets as tensors, preprocessing, minibatch order, safe file reading, digit scenes
    nn/          layers, recurrent cells, backbones, encoders, optimisers, regularisers, backprop by hand
    classify/    kNN, linear classifiers, the MLP, transfer learning
    detect/      boxes and mAP, detection, segmentation, captioning (tasks on digit scenes)
    understand/  saliency and relatives, adversarial examples, style, fooling images, patches, embeddings
    efficient/   pruning, weight sharing, quantisation, complexity

Knows nothing of W&B, the CLI or Ray. The flat names of before (``gymlab.vision.knn``) still import:
they are the same modules as their new homes (``gymlab.vision.classify.knn``).
"""
from gymlab._moved import alias

alias(__name__, {
    "datasets": "data.datasets",
    "folders": "data.folders",
    "preprocess": "data.preprocess",
    "batching": "data.batching",
    "safe_load": "data.safe_load",
    "scenes": "data.scenes",
    "layers": "nn.layers",
    "recurrent": "nn.recurrent",
    "backbones": "nn.backbones",
    "encoders": "nn.encoders",
    "optim": "nn.optim",
    "regularizers": "nn.regularizers",
    "gradcheck": "nn.gradcheck",
    "backprop": "nn.backprop",
    "rnn_gradients": "nn.rnn_gradients",
    "knn": "classify.knn",
    "linear": "classify.linear",
    "mlp": "classify.mlp",
    "transfer": "classify.transfer",
    "boxes": "detect.boxes",
    "detection": "detect.detection",
    "segmentation": "detect.segmentation",
    "captioning": "detect.captioning",
    "understanding": "understand.understanding",
    "adversarial": "understand.adversarial",
    "style": "understand.style",
    "fast_style": "understand.fast_style",
    "fooling": "understand.fooling",
    "maximal_patches": "understand.maximal_patches",
    "embedding": "understand.embedding",
    "compress": "efficient.compress",
    "complexity": "efficient.complexity",
})
