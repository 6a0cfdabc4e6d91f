"""The notes' training lessons as experiments on digits, each showing its claim in numbers and plots
(one module a lesson; ``race`` holds the shared parts).

    init-activations   a 10-layer tanh net: init too small (activations and gradients collapse to
                       zero), too big (tanh saturates), Xavier/He (a healthy spread); histograms per layer
    activations        the same net trained with each activation: dead ReLUs, sigmoid gradient
                       saturation, zero-centred (tanh) against not (sigmoid, ReLU)
    optimizers         SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam racing on the same model and
                       minibatches from the same initial weights; loss curves on one plot
    regularization     L2 strength, dropout, max-norm, DropConnect and random crops against the
                       train/validation gap
                       (big gap: overfitting, increase regularisation; no gap: increase capacity)
    batchnorm          the same deep net with and without batch normalisation
    hparam-search      coarse-to-fine random search over learning rate and regularisation strength:
                       short trials over a wide log range, then longer ones where the best were

The first five train several models side by side on the same minibatches (``Race``); each model's
metrics are logged as ``eval/<variant>/<metric>``, and ``eval/accuracy`` is the test accuracy of the
variant with the best validation accuracy. A variant whose loss turns non-finite (the too-high
learning rate, say) stops training and reports ``eval/<variant>/diverged = 1`` instead of ending the run.
"""
from gymlab.runners.experiments.lessons import (activations, batchnorm, hparam_search, init_activations,  # noqa: F401
                                          optimizers, regularization)
from gymlab.runners.experiments.lessons.hparam_search import train_trial  # noqa: F401
from gymlab.runners.experiments.lessons.race import digits  # noqa: F401
