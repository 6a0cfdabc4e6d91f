"""Image captioning: a CNN encoder and an LSTM decoder with soft attention over the feature grid
(Show, Attend and Tell; Xu et al. 2015).

The encoder's last feature map (D channels on an S x S grid) gives L = S² annotation vectors a_i.
The decoder is an LSTM (``vision.recurrent.LSTMCell``) whose state starts from the mean annotation,
h_0 = tanh(W_h mean(a)), c_0 = tanh(W_c mean(a)). At step t

    e_ti = v^T tanh(W_a a_i + W_s h_{t-1})       α_t = softmax(e_t)       z_t = Σ_i α_ti a_i
    (h_t, c_t) = LSTM([E w_{t-1}; z_t], (h_{t-1}, c_{t-1}))
    p(w_t | w_<t, image) = softmax(W_o [h_t; z_t])

Training: teacher forcing (the true previous word in, cross-entropy on the next one). Decoding:
greedy (the most likely word each step) or beam search (keep the ``beam`` best partial captions by
total log-probability; a caption ends at <eos>).

BLEU-n (Papineni et al. 2002), corpus level: p_k = clipped k-gram matches / candidate k-grams over
the corpus, BP = min(1, exp(1 - r / c)) with r, c the reference and candidate lengths,
BLEU = BP exp(Σ_k (1/n) log p_k).
"""
from __future__ import annotations

import math
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

from gymlab.vision.nn.recurrent import LSTMCell

SPECIALS = ["<pad>", "<bos>", "<eos>"]
PAD, BOS, EOS = 0, 1, 2


class Vocab:
    """Word <-> index; the caption words of vision.scenes by default."""

    def __init__(self, words=tuple(str(d) for d in range(10)) + ("left", "of", "above", "below")):
        self.itos = SPECIALS + list(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, captions: list, max_len: int | None = None) -> torch.Tensor:
        """(N, T) indices: <bos> words <eos> <pad>..."""
        try:
            seqs = [[BOS] + [self.stoi[w] for w in c.split()] + [EOS] for c in captions]
        except KeyError as e:
            raise ValueError(f"word {e.args[0]!r} is not in the vocabulary ({' '.join(self.itos[3:])})") from None
        t = max_len or max(len(s) for s in seqs)
        out = torch.full((len(seqs), t), PAD, dtype=torch.int64)
        for i, s in enumerate(seqs):
            out[i, :len(s)] = torch.tensor(s[:t])
        return out

    def decode(self, seq) -> str:
        words = []
        for i in (seq.tolist() if torch.is_tensor(seq) else seq):
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.itos[i])
        return " ".join(words)


class Attention(nn.Module):
    """Additive (Bahdanau) attention: weights α over the L annotations given the decoder state."""

    def __init__(self, feat_dim: int, hidden: int, att_dim: int):
        super().__init__()
        self.W_a, self.W_s, self.v = nn.Linear(feat_dim, att_dim), nn.Linear(hidden, att_dim), nn.Linear(att_dim, 1)

    def forward(self, proj_a: torch.Tensor, a: torch.Tensor, h: torch.Tensor):
        """proj_a = W_a a (precomputed, (N, L, A)); a (N, L, D); h (N, H) -> context (N, D), α (N, L)."""
        e = self.v(torch.tanh(proj_a + self.W_s(h)[:, None])).squeeze(-1)
        alpha = torch.softmax(e, dim=1)
        return (alpha[..., None] * a).sum(1), alpha


class Captioner(nn.Module):
    """``encoder``: a module with ``features(x)`` -> (N, D, S, S) and ``feature_dim`` (a vision backbone)."""

    def __init__(self, encoder: nn.Module, vocab_size: int, embed: int = 32, hidden: int = 128, att_dim: int = 64):
        super().__init__()
        d = encoder.feature_dim
        if hasattr(encoder, "head"):
            encoder.head = nn.Identity()  # the encoder's own classifier is not used
        self.encoder, self.vocab_size = encoder, vocab_size
        self.embed = nn.Embedding(vocab_size, embed)
        self.init_h, self.init_c = nn.Linear(d, hidden), nn.Linear(d, hidden)
        self.attention = Attention(d, hidden, att_dim)
        self.cell = LSTMCell(embed + d, hidden)
        self.out = nn.Linear(hidden + d, vocab_size)

    def annotations(self, images: torch.Tensor) -> torch.Tensor:
        """(N, L, D): the feature grid as L = S² vectors."""
        return self.encoder.features(images).flatten(2).transpose(1, 2)

    def start(self, a: torch.Tensor):
        m = a.mean(1)
        return torch.tanh(self.init_h(m)), torch.tanh(self.init_c(m)), self.attention.W_a(a)

    def step(self, word: torch.Tensor, state, a: torch.Tensor, proj_a: torch.Tensor):
        """One decoder step: previous word (N,), (h, c) -> log-probabilities (N, V), new state, α (N, L)."""
        h, c = state
        z, alpha = self.attention(proj_a, a, h)
        h, c = self.cell(torch.cat([self.embed(word), z], 1), (h, c))
        return F.log_softmax(self.out(torch.cat([h, z], 1)), -1), (h, c), alpha

    def forward(self, images: torch.Tensor, tokens: torch.Tensor):
        """Teacher forcing: log-probabilities (N, T - 1, V) of tokens[:, 1:] given tokens[:, :-1]."""
        a = self.annotations(images)
        h, c, proj_a = self.start(a)
        out = []
        for t in range(tokens.shape[1] - 1):
            logp, (h, c), _ = self.step(tokens[:, t], (h, c), a, proj_a)
            out.append(logp)
        return torch.stack(out, 1)


def caption_loss(model: Captioner, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the next word over non-pad positions."""
    logp = model(images, tokens)
    return F.nll_loss(logp.reshape(-1, logp.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=PAD)


@torch.no_grad()
def greedy_decode(model: Captioner, images: torch.Tensor, max_len: int = 10):
    """(N, ≤ max_len) word indices (ending at <eos>) and the attention maps (N, steps, L)."""
    a = model.annotations(images)
    h, c, proj_a = model.start(a)
    word = torch.full((len(images),), BOS, dtype=torch.int64, device=images.device)
    words, alphas = [], []
    done = torch.zeros(len(images), dtype=torch.bool, device=images.device)
    for _ in range(max_len):
        logp, (h, c), alpha = model.step(word, (h, c), a, proj_a)
        word = logp.argmax(-1).masked_fill(done, PAD)
        words.append(word)
        alphas.append(alpha)
        done |= word == EOS
        if done.all():
            break
    return torch.stack(words, 1), torch.stack(alphas, 1)


@torch.no_grad()
def beam_decode(model: Captioner, image: torch.Tensor, beam: int = 3, max_len: int = 10):
    """Beam search for one image (C, H, W): (best word list, its total log-probability)."""
    a = model.annotations(image[None])
    h, c, proj_a = model.start(a)
    beams = [([], 0.0, (h, c))]  # (words, log-prob, state)
    finished = []
    for _ in range(max_len):
        words = torch.tensor([b[0][-1] if b[0] else BOS for b in beams], device=image.device)
        hs = torch.cat([b[2][0] for b in beams])
        cs = torch.cat([b[2][1] for b in beams])
        n = len(beams)
        logp, (h, c), _ = model.step(words, (hs, cs), a.expand(n, -1, -1), proj_a.expand(n, -1, -1))
        total = torch.tensor([b[1] for b in beams], device=image.device)[:, None] + logp  # (n, V)
        top = total.flatten().topk(min(beam, total.numel()))
        beams_next = []
        for score, flat in zip(top.values.tolist(), top.indices.tolist()):
            k, w = divmod(flat, logp.shape[1])
            seq = beams[k][0] + [w]
            if w == EOS:
                finished.append((seq, score))
            else:
                beams_next.append((seq, score, (h[k:k + 1], c[k:k + 1])))
        # stop when no open beam can beat the best finished caption (log-probs only fall)
        if finished and (not beams_next or max(b[1] for b in beams_next) <= max(f[1] for f in finished)):
            break
        beams = beams_next
        if not beams:
            break
    pool = finished or [(b[0], b[1]) for b in beams]
    return max(pool, key=lambda f: f[1])


def bleu(candidates: list, references: list, n: int = 4) -> float:
    """Corpus BLEU-n of tokenised candidates (lists of words) against one reference list each
    (``references[i]``: a list of reference word lists)."""
    matches, totals = [0] * n, [0] * n
    cand_len = ref_len = 0
    for cand, refs in zip(candidates, references):
        cand_len += len(cand)
        ref_len += min((len(r) for r in refs), key=lambda L: (abs(L - len(cand)), L))  # closest reference length
        for k in range(1, n + 1):
            grams = Counter(tuple(cand[i:i + k]) for i in range(len(cand) - k + 1))
            best = Counter()
            for r in refs:
                best |= Counter(tuple(r[i:i + k]) for i in range(len(r) - k + 1))
            matches[k - 1] += sum(min(cnt, best[g]) for g, cnt in grams.items())
            totals[k - 1] += max(len(cand) - k + 1, 0)
    if cand_len == 0 or min(matches) == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals)) / n
    bp = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    return bp * math.exp(log_p)


def greedy_captions(model: Captioner, images: torch.Tensor, vocab: Vocab, max_len: int = 10, batch_size: int = 256):
    """Greedy captions (strings) of images (N, C, H, W) in batches, and the attention maps (N, steps, L) of the
    first batch (eval mode is the caller's business)."""
    device = next(model.parameters()).device
    words, alphas = [], []
    for chunk in torch.split(images, batch_size):
        w, a = greedy_decode(model, chunk.to(device), max_len)
        words += [vocab.decode(s) for s in w.cpu()]
        alphas.append(a.cpu())
    return words, alphas[0]


def beam_captions(model: Captioner, images: torch.Tensor, vocab: Vocab, beam: int = 3, max_len: int = 10) -> list:
    """Beam-search captions (strings), one image at a time."""
    device = next(model.parameters()).device
    return [vocab.decode(beam_decode(model, x.to(device), beam, max_len)[0]) for x in images]


def caption_scores(pred: list, truth: list, prefix: str = "") -> dict:
    """``{prefix}exact_match`` (share of captions equal to the truth) and ``{prefix}bleu4`` (corpus BLEU-4)."""
    exact = sum(p == t for p, t in zip(pred, truth)) / len(truth)
    b = bleu([p.split() for p in pred], [[t.split()] for t in truth])
    return {f"{prefix}exact_match": exact, f"{prefix}bleu4": b}


def caption_report(model: Captioner, vocab: Vocab, test: tuple, val: tuple, majority: str, beam: int = 3,
                   n_beam: int = 200, max_len: int = 10) -> dict:
    """Scores of greedy decoding on ``test`` = (images, captions) (exact_match, bleu4) and ``val``
    (val_exact_match), of beam search on the first ``n_beam`` test images (beam_exact_match, beam_bleu4,
    against greedy_exact_match_beam_subset), and of always answering ``majority`` (majority_*)."""
    (images, truth), n = test, min(n_beam, len(test[1]))
    pred = greedy_captions(model, images, vocab, max_len)[0]
    val_pred = greedy_captions(model, val[0], vocab, max_len)[0]
    beams = beam_captions(model, images[:n], vocab, beam, max_len)
    return {**caption_scores(pred, truth), "val_exact_match": caption_scores(val_pred, val[1])["exact_match"],
            **caption_scores(beams, truth[:n], "beam_"),
            "greedy_exact_match_beam_subset": caption_scores(pred[:n], truth[:n])["exact_match"],
            **caption_scores([majority] * len(truth), truth, "majority_")}


def draw_attention(images: torch.Tensor, truth: list, pred: list, alphas: torch.Tensor):
    """A figure: per image (rows), the image with its true caption and, per generated word, where the
    decoder attended (alphas (N, steps, L) over an s x s grid, upsampled over the image)."""
    import matplotlib.pyplot as plt

    n, steps, s = len(images), alphas.shape[1], int(round(alphas.shape[2] ** 0.5))
    fig, axes = plt.subplots(n, steps + 1, figsize=(1.5 * (steps + 1), 1.6 * n), squeeze=False)
    for i in range(n):
        words = pred[i].split() + ["<eos>"]
        axes[i, 0].imshow(images[i, 0], cmap="gray")
        axes[i, 0].set_title(f"truth: {truth[i]}", fontsize=7)
        axes[i, 0].axis("off")
        for t in range(steps):
            ax = axes[i, t + 1]
            ax.axis("off")
            if t < len(words):
                att = F.interpolate(alphas[i, t].view(1, 1, s, s), size=images.shape[-2:], mode="bilinear",
                                    align_corners=False)[0, 0]
                ax.imshow(images[i, 0], cmap="gray")
                ax.imshow(att, cmap="jet", alpha=0.45)
                ax.set_title(words[t], fontsize=8)
    fig.tight_layout()
    return fig
