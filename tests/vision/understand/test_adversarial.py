"""FGSM against the analytic input gradient of a linear model; attack and adversarial training on digits."""
import torch
import torch.nn.functional as F

from gymlab.runners.loop import run
from gymlab.vision.understand.adversarial import accuracy_vs_epsilon, adversarial_loss, fgsm


def test_fgsm_equals_analytic_sign_gradient():
    g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(16, 4)
    x, y = torch.rand(10, 16, generator=g), torch.randint(0, 4, (10,), generator=g)
    # d/dx mean CE = W^T (softmax(Wx + b) - onehot(y)) / N
    p = torch.softmax(lin(x), 1).detach()
    grad = (p - F.one_hot(y, 4)) @ lin.weight.detach() / len(y)
    want = (x + 0.1 * grad.sign()).clamp(0, 1)
    assert torch.equal(fgsm(lin, x, y, 0.1), want)
    assert torch.equal(fgsm(lin, x, y, 0.0), x)
    assert (fgsm(lin, x, y, 0.1) - x).abs().max() <= 0.1 + 1e-7
    # the attack raises the loss; the adversarial loss mixes both halves
    assert F.cross_entropy(lin(fgsm(lin, x, y, 0.05)), y) > F.cross_entropy(lin(x), y)
    mix = adversarial_loss(lin, x, y, 0.1, alpha=0.25)
    assert torch.allclose(mix, 0.25 * F.cross_entropy(lin(x), y) + 0.75 * F.cross_entropy(lin(want), y))
    curve = accuracy_vs_epsilon(lin, x, y, [0.0, 0.5])
    assert curve[1] <= curve[0]


def test_fgsm_cuts_accuracy_and_adversarial_training_recovers(tmp_path):
    # the default 600 steps, evaluated once at the end (the summary is the last evaluation)
    s = run("fgsm", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "eval_every=600"], quiet=True)
    assert s["eval/accuracy"] >= 0.95
    assert s["eval/accuracy"] - s["eval/fgsm_accuracy"] >= 0.30, s
    assert s["eval/recovered"] >= 0.5, s


def test_accuracy_under_attack_in_chunks_equals_the_whole_batch():
    from gymlab.vision.understand.adversarial import accuracy, accuracy_under_attack
    from gymlab.vision.understand.adversarial_plots import accuracy_vs_epsilon as curve_figure, examples

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()
    x, y = torch.rand(10, 1, 4, 4), torch.randint(0, 3, (10,))
    assert abs(accuracy_under_attack(net, x, y, 0.0, batch=3) - accuracy(net, x, y)) < 1e-6
    whole = accuracy(net, fgsm(net, x, y, 0.2), y)  # FGSM is per example: chunks change nothing
    assert abs(accuracy_under_attack(net, x, y, 0.2, batch=4) - whole) < 1e-6
    assert len(curve_figure([0, 0.1], {"a": [1, 0.5], "b": [1, 0.9]}).axes[0].lines) == 2
    assert len(examples(net, x, y, 0.1, n=2).axes) == 6


def test_adversarial_pair_gives_both_losses_from_one_initialisation():
    from gymlab.vision.understand.adversarial import AdversarialPair

    torch.manual_seed(0)
    pair = AdversarialPair(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)), epsilon=0.1, alpha=0.3)
    assert all(torch.equal(a, b) for a, b in zip(pair.std.parameters(), pair.adv.parameters()))
    x, y = torch.rand(6, 1, 4, 4), torch.randint(0, 3, (6,))
    std, adv = pair(x, y)
    assert torch.allclose(std, F.cross_entropy(pair.std(x), y))
    assert torch.allclose(adv, adversarial_loss(pair.adv, x, y, 0.1, 0.3))
    (std + adv).backward()
    g_std, g_adv = pair.std[1].weight.grad, pair.adv[1].weight.grad
    assert not torch.allclose(g_std, g_adv)  # each copy gets its own loss's gradient
