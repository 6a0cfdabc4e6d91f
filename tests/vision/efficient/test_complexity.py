"""Complexity counts equal the notes' formulas, sum(p.numel()), and PyTorch's own FLOP counter."""
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gymlab.vision.efficient import complexity as C


def _flops(model, x):
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(x)
    return fc.get_total_flops()


def test_output_size_formula_notes_examples():
    assert C.conv_output_size(7, 3, 0, 1) == 5  # the notes' 7x7 input, 3x3 filter
    assert C.conv_output_size(7, 3, 0, 2) == 3
    with pytest.raises(ValueError, match="not an integer"):
        C.conv_output_size(7, 3, 0, 3)  # "hyperparameters do not fit"
    assert C.conv_output_size(7, 3, 0, 3, strict=False) == 2
    assert C.conv_output_size(227, 11, 0, 4) == 55  # AlexNet's CONV1
    assert C.conv_output_size(32, 5, 2, 1) == 32  # padding (F - 1) / 2 keeps the size


def test_param_formula_notes_examples():
    assert C.conv_params(11, 3, 96) == 34_944  # AlexNet CONV1: 11*11*3*96 weights + 96 biases
    assert C.conv_params(5, 3, 10) == 760  # ten 5x5x3 filters: 76 parameters each
    assert C.conv_params(3, 64, 128, groups=4) == 3 * 3 * 16 * 128 + 128


@pytest.mark.parametrize("f,p,s,d1,k,w", [(3, 1, 1, 3, 8, 16), (5, 2, 1, 4, 6, 12), (3, 0, 2, 2, 5, 9),
                                          (1, 0, 1, 8, 4, 7), (7, 3, 2, 1, 16, 29)])
def test_conv_layer_counts_equal_formulas_and_pytorch(f, p, s, d1, k, w):
    conv = nn.Conv2d(d1, k, f, stride=s, padding=p)
    x = torch.randn(3, d1, w, w)
    prof = C.profile(conv, x)
    w2 = C.conv_output_size(w, f, p, s)
    assert conv(x).shape == (3, k, w2, w2)
    assert prof.params == C.conv_params(f, d1, k) == sum(q.numel() for q in conv.parameters())
    assert prof.macs == C.conv_macs(f, d1, k, w2, w2)
    assert 2 * prof.macs * 3 == _flops(conv, x)  # FlopCounterMode counts 2 FLOPs per multiply-add
    assert prof.activations == d1 * w * w + k * w2 * w2


def _vgg_like():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, 10))


def test_network_counts_equal_formulas_and_flop_counter():
    torch.manual_seed(0)
    net = _vgg_like()
    x = torch.randn(4, 3, 32, 32)
    prof = C.profile(net, x)
    params = (C.conv_params(3, 3, 16) + C.conv_params(3, 16, 16) + 2 * 16 + C.conv_params(3, 16, 32, groups=2)
              + C.linear_params(2048, 64) + C.linear_params(64, 10))
    assert prof.params == params == sum(p.numel() for p in net.parameters())
    macs = (C.conv_macs(3, 3, 16, 32, 32) + C.conv_macs(3, 16, 16, 32, 32) + C.conv_macs(3, 16, 32, 16, 16, groups=2)
            + 2048 * 64 + 64 * 10)
    assert prof.macs == macs
    assert 2 * prof.macs * 4 == _flops(net, x)
    # memory as the notes count it: input, conv, BN, pool and FC outputs (ReLU/dropout/flatten in place)
    acts = 3 * 32 * 32 + 16 * 32 * 32 * 2 + 16 * 32 * 32 + 16 * 16 * 16 + 32 * 16 * 16 + 32 * 8 * 8 + 64 + 10
    assert prof.activations == acts
    assert prof.activation_bytes == 4 * acts
    assert sum(r["params"] for r in C.layer_table(prof)) == prof.params
    assert net.training  # the model's mode is restored


def test_counts_are_per_example_and_repeat_calls_count_twice():
    lin = nn.Linear(10, 10)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lin

        def forward(self, x):
            return self.lin(torch.relu(self.lin(x)))

    a = C.profile(Twice(), torch.randn(1, 10))
    b = C.profile(Twice(), torch.randn(7, 10))
    assert a.macs == b.macs == 2 * 100
    assert a.params == 110 and a.layers[0].calls == 2


def test_transposed_conv_and_linear_match_flop_counter():
    net = nn.Sequential(nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.Flatten(), nn.Linear(4 * 16 * 16, 5))
    x = torch.randn(2, 8, 8, 8)
    prof = C.profile(net, x)
    assert 2 * prof.macs * 2 == _flops(net, x)
    assert prof.macs == 8 * 8 * 8 * 4 * 16 + 1024 * 5


@pytest.mark.parametrize("cls,gates", [(nn.RNN, 1), (nn.GRU, 3), (nn.LSTM, 4)])
def test_recurrent_macs_formula(cls, gates):
    rnn = cls(5, 7, num_layers=2, bidirectional=True)
    T = 6
    prof = C.profile(rnn, torch.randn(T, 2, 5))
    assert prof.macs == 2 * T * gates * 7 * (5 + 7) + 2 * T * gates * 7 * (14 + 7)
    assert prof.params == sum(p.numel() for p in rnn.parameters())


def test_vgg16_matches_the_notes_on_the_meta_device():
    """The notes' VGG-16 on 224x224x3: 138M parameters, ~15.5G multiply-adds (no memory allocated)."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers, d = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(d, v, 3, padding=1), nn.ReLU()]
            d = v
    with torch.device("meta"):
        vgg = nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(),
                            nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))
        prof = C.profile(vgg, torch.empty(1, 3, 224, 224))
    assert prof.params == 138_357_544
    assert 15.4e9 < prof.macs < 15.6e9
    # the notes' per-layer memory list: 224*224*64 twice, 112*112*64, ..., 7*7*512, 4096, 4096, 1000
    sizes = [(224, 64), (224, 64), (112, 64), (112, 128), (112, 128), (56, 128)] + [(56, 256)] * 3 + [(28, 256)] \
        + [(28, 512)] * 3 + [(14, 512)] + [(14, 512)] * 3 + [(7, 512)]
    assert prof.activations == 224 * 224 * 3 + sum(s * s * c for s, c in sizes) + 4096 + 4096 + 1000


def test_latency_is_measured():
    prof = C.profile(nn.Linear(4, 4), torch.randn(1, 4), latency=True, repeats=3, warmup=1)
    assert prof.latency_ms is not None and prof.latency_ms > 0
    assert "latency_ms" in prof.row("lin")


@pytest.mark.parametrize("size,channels", [(8, 1), (28, 1), (32, 3)])
def test_formulas_hold_on_every_layer_of_every_backbone(size, channels):
    from gymlab.vision.nn.backbones import BACKBONES, build

    for name in BACKBONES:
        net = build(name, in_channels=channels, image_size=size)
        x = torch.rand(2, channels, size, size)
        rows = C.formula_check(net, x)
        n_layers = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in net.modules())
        assert len(rows) == n_layers and all(r["ok"] for r in rows), (name, [r for r in rows if not r["ok"]])
        prof = C.profile(net, x)
        assert prof.params == sum(p.numel() for p in net.parameters())
        assert 2 * prof.macs * 2 == _flops(net, x)


def test_formula_check_handles_dilation_same_padding_and_flags_nothing_wrong():
    net = nn.Sequential(nn.Conv2d(2, 4, 3, dilation=2), nn.Conv2d(4, 4, 5, padding="same"),
                        nn.Conv2d(4, 3, 3, stride=3, padding=1))
    rows = C.formula_check(net, torch.rand(1, 2, 16, 16))
    assert [r["output"] for r in rows] == ["12x12", "12x12", "4x4"]
    assert all(r["ok"] for r in rows)


def test_complexity_experiment_table(tmp_path):
    import json

    from gymlab.runners.loop import run

    s = run("complexity", ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / 'r'}", "sizes=8",
                           "latency_repeats=1"], quiet=True)
    rows = json.loads((tmp_path / "r" / "media" / "table.json").read_text())
    names = {r["model"] for r in rows}
    assert {"alexnet", "vgg", "googlenet", "resnet", "pixelcnn", "pixelrnn-row", "vae (elbo)",
            "dcgan-generator"} <= names
    assert s["eval/models"] == len(rows) == s["steps"]  # one model per step, then done
    assert s["eval/formula_mismatches"] == 0 and s["eval/formula_layers"] > 50
    from gymlab.vision.nn.backbones import build

    resnet = next(r for r in rows if r["model"] == "resnet")
    assert resnet["params"] == sum(p.numel() for p in build("resnet", 1, 8).parameters())
    for r in rows:
        assert r["latency_ms"] > 0
        if r["params_in_layers"] == r["params"]:  # everything inside Conv/Linear layers: the hooks see it all
            assert r["MACs"] == r["MACs_flop_counter"], r["model"]
    fvsbn = next(r for r in rows if r["model"] == "fvsbn")  # an inline matmul on a bare parameter
    assert fvsbn["params_in_layers"] == 0 < fvsbn["params"] and fvsbn["MACs_flop_counter"] > 0
    assert (tmp_path / "r" / "media" / "layers_resnet.md").exists()


def test_complexity_row_and_model_lists():
    from gymlab.generative.zoo import generative_models
    from gymlab.vision.efficient.plots import complexity_bubbles

    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    row, checks, prof = C.complexity_row(net, (torch.rand(1, 1, 8, 8),), repeats=1)
    assert row["params"] == row["params_in_layers"] == 40 + 2570
    assert row["MACs"] == row["MACs_flop_counter"] == 8 * 8 * 4 * 9 + 256 * 10
    assert row["formula_layers"] == len(checks) == 2 and row["formula_mismatches"] == 0 and row["latency_ms"] > 0
    backbones = C.backbone_models([8, 32])
    assert {(n, s) for n, _, s, _ in backbones} >= {("resnet", 8), ("vgg", 32)}
    model, args = next(f for n, _, s, f in backbones if (n, s) == ("vgg", 32))()
    assert args[0].shape == (1, 3, 32, 32) and model(*args).shape == (1, 10)
    gen = {n: f for n, _, _, f in generative_models(8)}
    vae, args = gen["vae (elbo)"]()
    assert "elbo" in vae(*args)
    rows = [{"model": "a", "family": "backbone", "input": "1x8x8", "params": 10, "MACs": 100, "latency_ms": 1.0}]
    assert len(complexity_bubbles(rows).axes[0].collections) == 1
