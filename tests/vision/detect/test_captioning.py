"""Vocabulary, BLEU against torchmetrics, attention and beam search invariants; a trained captioner
beats the majority baseline by far."""
import random

import pytest
import torch

from gymlab.runners.loop import run
from gymlab.vision.nn.backbones import build
from gymlab.vision.detect.captioning import EOS, Captioner, Vocab, beam_decode, bleu, caption_loss, greedy_decode


def test_vocab_round_trip():
    v = Vocab()
    caps = ["3 left of 7", "1 above 4 left of 9", "5"]
    tok = v.encode(caps)
    assert tok.shape == (3, 8) and tok[0, 0] == 1 and tok[2, 2] == EOS and tok[2, 3] == 0
    assert [v.decode(t) for t in tok] == caps
    with pytest.raises(ValueError, match="vocabulary"):
        v.encode(["3 right of 7"])


def test_bleu_equals_torchmetrics():
    from torchmetrics.text import BLEUScore

    rng = random.Random(0)
    words = "3 left of 7".split()  # few words: many matching 4-grams
    refs = [[" ".join(rng.choices(words, k=rng.randint(4, 9))) for _ in range(rng.randint(1, 3))] for _ in range(40)]
    cands = [" ".join(rng.choices(words, k=rng.randint(3, 10))) for _ in range(40)]
    ours = bleu([c.split() for c in cands], [[r.split() for r in rs] for rs in refs])
    peer = float(BLEUScore(n_gram=4)(cands, refs))
    assert ours == pytest.approx(peer, abs=1e-6) and 0 < ours < 1
    assert bleu([["3", "left", "of", "7"]], [[["3", "left", "of", "7"]]]) == pytest.approx(1.0)


def small_captioner():
    torch.manual_seed(0)
    enc = build("vgg", 1, 32, 10, widths=(4, 8, 8), convs=(1, 1, 1))
    return Captioner(enc, len(Vocab()), embed=8, hidden=16, att_dim=8).eval()


def test_attention_loss_and_decoders():
    model = small_captioner()
    x = torch.rand(3, 1, 32, 32)
    a = model.annotations(x)
    h, c, proj = model.start(a)
    _, _, alpha = model.step(torch.ones(3, dtype=torch.int64), (h, c), a, proj)
    assert alpha.shape == (3, 16) and torch.allclose(alpha.sum(1), torch.ones(3))
    tok = Vocab().encode(["3 left of 7", "1", "2 above 0"])
    loss = caption_loss(model, x, tok)
    assert loss.item() == pytest.approx(torch.log(torch.tensor(float(len(Vocab())))).item(), rel=0.3)
    words, alphas = greedy_decode(model, x, max_len=6)
    # beam search of width 1 is greedy decoding; a wider beam never finds a less likely caption
    for i in range(3):
        seq1, lp1 = beam_decode(model, x[i], beam=1, max_len=6)
        greedy = words[i].tolist()
        greedy = greedy[:greedy.index(EOS) + 1] if EOS in greedy else greedy
        assert seq1 == greedy
        seq5, lp5 = beam_decode(model, x[i], beam=5, max_len=6)
        if EOS in greedy and EOS in seq5:
            assert lp5 >= lp1 - 1e-5


def test_captioning_beats_majority(tmp_path):
    # half the default budget (the one-cycle schedule anneals over it) and one evaluation: the margins over
    # these thresholds are in benchmarks/results/test_budgets.md
    s = run("captioning", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "steps=400", "eval_every=400"],
            quiet=True)
    assert s["eval/exact_match"] >= max(0.5, 20 * s["eval/majority_exact_match"]), s
    assert s["eval/bleu4"] > s["eval/majority_bleu4"] + 0.4
    assert s["eval/beam_exact_match"] >= s["eval/greedy_exact_match_beam_subset"] - 0.05


def test_caption_scores_and_report():
    from gymlab.vision.detect.captioning import caption_report, caption_scores

    s = caption_scores(["3 left of 7", "1 above 2"], ["3 left of 7", "1 below 2"], "eval/")
    assert s["eval/exact_match"] == 0.5 and 0 < s["eval/bleu4"] < 1
    assert caption_scores(["3 left of 7"], ["3 left of 7"])["bleu4"] == pytest.approx(1.0)
    torch.manual_seed(0)
    enc = build("vgg", 1, 32, 10, widths=(4, 8, 8), convs=(1, 1, 1))
    model = Captioner(enc, len(Vocab()), 8, 16, 8).eval()
    x, caps = torch.rand(4, 1, 32, 32), ["3 left of 7"] * 4
    r = caption_report(model, Vocab(), (x, caps), (x[:2], caps[:2]), "3 left of 7", beam=2, n_beam=2, max_len=5)
    assert r["majority_exact_match"] == 1.0 and r["majority_bleu4"] == pytest.approx(1.0)
    assert {"exact_match", "bleu4", "val_exact_match", "beam_exact_match", "beam_bleu4",
            "greedy_exact_match_beam_subset"} <= set(r)
