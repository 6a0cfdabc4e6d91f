"""The shared PyTorch library of gymlab, grouped by topic as torchvision groups its models:

    data/        data sets as tensors, preprocessing, minibatch order, safe file reading, digit scenes
    nn/          layers, recurrent cells, backbones, encoders, optimisers, regularisers, backprop by hand
    classify/    kNN, linear classifiers, the MLP, transfer learning
    detect/      boxes and mAP, detection, segmentation, captioning (tasks on digit scenes)
    understand/  saliency and relatives, adversarial examples, style, fooling images, patches, embeddings
    efficient/   pruning, weight sharing, quantisation, complexity

Knows nothing of W&B, the CLI or Ray. The flat names of before (``gymlab.vision.knn``) still import:
they are the same modules as their new homes (``gymlab.vision.classify.knn``; gymlab._moved).
"""
