import pytest
import torch

from gymlab.vision.nn.optim import OPTIMIZERS, make_optimizer, make_scheduler


def _quadratic_run(name, lr, steps=200):
    torch.manual_seed(0)
    x = torch.nn.Parameter(torch.tensor([3.0, -2.0]))
    A = torch.tensor([1.0, 10.0])  # an ill-conditioned bowl
    opt = make_optimizer([x], name, lr)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * A * x * x).sum().backward()
        opt.step()
    return x.detach()


@pytest.mark.parametrize("name,lr", [("sgd", 0.05), ("momentum", 0.05), ("nesterov", 0.05), ("adagrad", 0.5),
                                     ("rmsprop", 0.03), ("adam", 0.1)])
def test_every_rule_minimises_a_quadratic(name, lr):
    assert _quadratic_run(name, lr).abs().max() < 0.05


def test_rules_map_to_torch_optimisers():
    p = [torch.nn.Parameter(torch.zeros(1))]
    kinds = {n: make_optimizer(p, n, 0.1, weight_decay=1e-3) for n in OPTIMIZERS}
    assert kinds["momentum"].defaults["momentum"] == 0.9 and not kinds["momentum"].defaults["nesterov"]
    assert kinds["nesterov"].defaults["nesterov"] and kinds["sgd"].defaults["momentum"] == 0
    assert isinstance(kinds["adagrad"], torch.optim.Adagrad) and isinstance(kinds["adam"], torch.optim.Adam)
    assert kinds["rmsprop"].defaults["alpha"] == 0.99 and kinds["adam"].defaults["weight_decay"] == 1e-3
    with pytest.raises(ValueError, match="valid: sgd, momentum"):
        make_optimizer(p, "lbfgs", 0.1)


def test_schedules_divide_by_ten():
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = make_optimizer(p, "sgd", 1.0)
    step = make_scheduler(opt, "step", step_size=3)
    lrs = []
    for _ in range(7):
        opt.step()
        step.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])
    opt = make_optimizer(p, "sgd", 1.0)
    plateau = make_scheduler(opt, "plateau", patience=2)
    for loss in [5, 4, 4, 4, 4]:
        plateau.step(loss)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    assert make_scheduler(opt, "none") is None
    with pytest.raises(ValueError, match="valid: none, step, plateau, onecycle"):
        make_scheduler(opt, "cosine")


def test_onecycle_warms_up_then_anneals_over_the_budget():
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = make_optimizer(p, "momentum", 0.5)
    sched = make_scheduler(opt, "onecycle", total_steps=100)
    lrs, moms = [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for _ in range(99):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
    peak = max(range(100), key=lrs.__getitem__)
    assert lrs[0] == pytest.approx(0.5 / 25) and lrs[peak] == pytest.approx(0.5) and peak == 14  # 15% of 100 steps
    assert lrs[-1] == pytest.approx(0.5 / 25 / 1e4) and all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:]))
    assert moms[0] == pytest.approx(0.95) and moms[peak] == pytest.approx(0.85)
    with pytest.raises(ValueError, match="at least 2 steps"):
        make_scheduler(opt, "onecycle", total_steps=1)
