"""Generative experiments on binarized digits (default) and, when present, MNIST / CIFAR-10:
`pixelcnn`, `gated-pixelcnn`, `pixelrnn`, `autoencoder`, `vae`, `gan`.

Every likelihood model reports, on the same test split, eval/nll_nats (nats per image) and
eval/bits_per_dim; the VAE's are its IWAE bound (eval/iwae_nats, eval/elbo_nats are the bounds on
log p(x) themselves). Samples of every model are scored by a digits-FID (eval/fid) and an inception
score on the features of a small classifier trained on the same training images.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from generative import autoencoder as ae  # noqa: E402
from generative import data as gdata  # noqa: E402
from generative import metrics  # noqa: E402
from generative.gan import Discriminator, Generator, discriminator_loss, generator_loss  # noqa: E402
from generative.gated_pixelcnn import GatedPixelCNN  # noqa: E402
from generative.pixelcnn import PixelCNN  # noqa: E402
from generative.pixelrnn import PixelRNN  # noqa: E402
from generative.sampling import complete, sample  # noqa: E402
from generative.vae import VAE  # noqa: E402
from runners.config import RunConfig  # noqa: E402
from runners.errors import GymlabError  # noqa: E402
from runners.registry import register  # noqa: E402

_CLASSIFIERS: dict = {}


def feature_classifier(data: str, size: Optional[int], seed: int, steps: int = 300):
    """The digits-FID classifier for (data, size, seed): trained once per process on the training split."""
    key = (data, size, seed, steps)
    if key not in _CLASSIFIERS:
        d = gdata.load(data, seed, size)
        x = d.data.train.x if not d.dynamic else torch.bernoulli(d.data.train.x, generator=torch.Generator().manual_seed(seed))
        _CLASSIFIERS[key] = metrics.train_classifier(x, d.data.train.y, d.data.num_classes, steps=steps, seed=seed)
    return _CLASSIFIERS[key]


def grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (rows*(H+1), nrow*(W+1)[, 3]) image with 1-pixel gaps."""
    x = images.detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    rows = math.ceil(n / nrow)
    out = torch.full((c, rows * (h + 1) + 1, nrow * (w + 1) + 1), 0.5)
    for k in range(n):
        r, q = divmod(k, nrow)
        out[:, 1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (w + 1):1 + q * (w + 1) + w] = x[k]
    img = out.permute(1, 2, 0).numpy()
    return img[..., 0] if c == 1 else img


def upscale(img: np.ndarray, factor: int = 8) -> np.ndarray:
    return np.kron(img, np.ones((factor, factor) + (1,) * (img.ndim - 2)))


def curve(history: list, keys: list, title: str):
    fig, ax = plt.subplots(figsize=(5, 3))
    for k in keys:
        pts = [(h["step"], h[k]) for h in history if k in h]
        if pts:
            ax.plot(*zip(*pts), label=k.split("/")[-1])
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def latent_plot(codes: torch.Tensor, labels: torch.Tensor, title: str):
    """Codes in 2D (PCA when the code has more than two dimensions), coloured by digit."""
    z = codes.detach().double().cpu()
    if z.shape[1] > 2:
        z = z - z.mean(0)
        _, _, v = torch.linalg.svd(z, full_matrices=False)
        z = z @ v[:2].T
    fig, ax = plt.subplots(figsize=(4.5, 4))
    sc = ax.scatter(z[:, 0], z[:, 1], c=labels.cpu(), cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, ticks=range(10))
    ax.set_title(title)
    fig.tight_layout()
    return fig


@dataclass
class GenConfig(RunConfig):
    steps: int = 400
    eval_every: int = 200
    data: str = "digits"  # digits | digits-gray | mnist | mnist-dynamic | cifar10
    size: Optional[int] = None  # resize to size x size (digits: 8, 16 or 28); None: native
    batch_size: int = 64
    lr: float = 3e-3
    fid_samples: int = 256  # samples scored by the digits-FID at the final evaluation (0: skip)
    fid_every_eval: bool = False  # score samples at every evaluation, not only the last (set it with seconds=)
    fid_classifier_steps: int = 300


class _Generative:
    """Data, batching (a permutation per (seed, epoch): resumable), and the FID bookkeeping."""

    Config = GenConfig

    # one model (self.net) and one optimizer (self.opt); the GAN, with two of each, overrides these
    def state_dict(self):
        return {"model": self.net.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                "history": list(self.history)}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.history = state["step"], list(state["history"])

    def _setup_data(self, cfg, ctx):
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        try:
            d = gdata.load(cfg.data, cfg.seed, cfg.size)
        except (ValueError, FileNotFoundError) as e:
            raise GymlabError(str(e).splitlines()[0]) from None
        self.levels, self.dynamic, self.shape = d.levels, d.dynamic, d.shape
        self.dims = int(np.prod(self.shape))
        ds = d.data
        self.num_classes = ds.num_classes
        self.xtr, self.ytr = ds.train.x.to(ctx.device), ds.train.y.to(ctx.device)
        self.xva, self.yva = ds.val.x.to(ctx.device), ds.val.y.to(ctx.device)
        self.xte, self.yte = ds.test.x.to(ctx.device), ds.test.y.to(ctx.device)
        self.steps_per_epoch = math.ceil(len(self.ytr) / cfg.batch_size)
        self.total_steps = math.ceil(cfg.epochs * self.steps_per_epoch) if cfg.epochs is not None else cfg.steps
        self.step = 0
        self.history: list[dict] = []

    def _batch(self):
        epoch, i = divmod(self.step, self.steps_per_epoch)
        g = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
        perm = torch.randperm(len(self.ytr), generator=g)
        idx = self.ctx.shard(perm[i * self.cfg.batch_size:(i + 1) * self.cfg.batch_size]).to(self.device)
        x, y = self.xtr[idx], self.ytr[idx]
        if self.dynamic:  # dynamically binarized MNIST: a fresh Bernoulli(x) draw for this step
            gb = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)
            x = torch.bernoulli(x.cpu(), generator=gb).to(self.device)
        return x, y

    def _step_generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.cfg.seed * 7_919 + self.step)

    def _wants_fid(self) -> bool:
        return self.cfg.fid_samples > 0 and (self.cfg.fid_every_eval or self.step >= self.total_steps)

    def _sample_scores(self, samples: torch.Tensor) -> dict:
        clf = feature_classifier(self.cfg.data, self.cfg.size, self.cfg.seed, self.cfg.fid_classifier_steps)
        s = samples.float().cpu()
        return {"eval/fid": metrics.fid(clf, self.xte.cpu(), s), "eval/val_fid": metrics.fid(clf, self.xva.cpu(), s),
                "eval/inception_score": metrics.inception_score(clf, s)}

    def _sync_grads(self, module) -> None:
        """Average gradients over processes by hand (under torchrun), for losses that bypass DDP's forward."""
        if self.ctx.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            for p in module.parameters():
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad.div_(self.ctx.world_size)

    def _log_history(self, row: dict) -> None:
        self.history.append({"step": self.step, **row})


# ====================================================================== autoregressive models
@dataclass
class AutoregressiveConfig(GenConfig):
    steps: int = 300  # ~18 epochs of the 1,078 training digits; much longer overfits them (see best.pt)
    eval_every: int = 150
    hidden: int = 32
    layers: int = 4
    sample_images: int = 64  # in the media grid (and a quarter of it, at most 8, test images completed)


class _Autoregressive(_Generative):
    conditional = False

    def build(self, cfg, channels: int):
        raise TypeError(f"{type(self).__name__} must define build")

    def sanity_model(self):
        """What `sanity=true` checks (runners.sanity): NLL per dimension, log(levels) nats when untrained."""
        from runners.sanity import SanityModel

        loss = lambda m, x, y: metrics.categorical_nll(m(x, self._y(y)).float(), x, self.levels).mean() / self.dims  # noqa: E731
        return SanityModel(self.net, loss, self.xtr, self.ytr, math.log(self.levels),
                           optimizer=lambda p, lr: torch.optim.Adam(p, lr=lr))

    def setup(self, cfg, ctx):
        self._setup_data(cfg, ctx)
        torch.manual_seed(cfg.seed)
        try:
            self.net = self.build(cfg, self.shape[0])
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.model = ctx.prepare_model(self.net)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def _y(self, y):
        return y if self.conditional else None

    def train_step(self):
        x, y = self._batch()
        with self.ctx.autocast():
            nll = metrics.categorical_nll(self.model(x, self._y(y)).float(), x, self.levels).mean()
        self.opt.zero_grad()
        (nll / self.dims).backward()
        self.opt.step()
        self.step += 1
        out = {"train/nll_nats": nll.item(), "train/bits_per_dim": metrics.bits_per_dim(nll.item(), self.dims)}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(out)
        return out

    @torch.no_grad()
    def nll(self, x, y, batch: int = 500) -> torch.Tensor:
        self.net.eval()
        out = torch.cat([metrics.categorical_nll(self.net(x[i:i + batch], self._y(y[i:i + batch])).float(),
                                                 x[i:i + batch], self.levels) for i in range(0, len(x), batch)])
        self.net.train()
        return out

    def samples(self, n: int, seed_offset: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.cfg.seed + 12_345 + seed_offset)
        y = (torch.arange(n) % self.num_classes).to(self.device) if self.conditional else None
        return sample(self.net, n, self.shape, self.levels, y=y, generator=g, device=self.device)

    def evaluate(self):
        te, va = self.nll(self.xte, self.yte).mean().item(), self.nll(self.xva, self.yva).mean().item()
        out = {"eval/nll_nats": te, "eval/bits_per_dim": metrics.bits_per_dim(te, self.dims),
               "eval/val_nll_nats": va}
        if self._wants_fid():
            out.update(self._sample_scores(self.samples(self.cfg.fid_samples)))
        self._log_history({"eval/nll_nats": te, "eval/val_nll_nats": va})
        return out

    def media(self):
        n = self.cfg.sample_images
        s = self.samples(n, seed_offset=1)
        g = torch.Generator().manual_seed(self.cfg.seed + 99)
        m = max(1, min(8, n // 4))  # test images to complete, 4 completions each
        given = self.xte[:m].repeat_interleave(4, 0)
        y = self.yte[:m].repeat_interleave(4, 0) if self.conditional else None
        comp = complete(self.net, given, self.levels, y=y, generator=g)
        rows = torch.cat([self.xte[:m].unsqueeze(1), comp.view(m, 4, *self.shape)], 1).flatten(0, 1)
        return {"samples": upscale(grid(s, int(math.sqrt(n)) or 1)),
                "completions": upscale(grid(rows, 5)),  # each row: the test image, then 4 completions of its top half
                "loss_curve": curve(self.history, ["train/nll_nats", "eval/nll_nats", "eval/val_nll_nats"],
                                    f"{type(self).__name__}: nats per image")}


@dataclass
class PixelCNNConfig(AutoregressiveConfig):
    hidden: int = 32
    layers: int = 4  # residual blocks


@register("pixelcnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="PixelCNN: mask A/B convolutions, residual blocks, per-pixel softmax")
class PixelCNNExperiment(_Autoregressive):
    Config = PixelCNNConfig

    def build(self, cfg, channels):
        return PixelCNN(channels, self.levels, hidden=cfg.hidden * channels if channels > 1 else cfg.hidden,
                        n_blocks=cfg.layers)


@dataclass
class GatedConfig(AutoregressiveConfig):
    hidden: int = 16
    layers: int = 3  # gated layers
    kernel_size: int = 5
    conditional: bool = False  # condition on the class label (samples: one class per grid column)


@register("gated-pixelcnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="Gated PixelCNN: vertical + horizontal stacks (no blind spot), gated units, optional class")
class GatedPixelCNNExperiment(_Autoregressive):
    Config = GatedConfig

    def build(self, cfg, channels):
        self.conditional = cfg.conditional
        return GatedPixelCNN(channels, self.levels, hidden=cfg.hidden * channels if channels > 1 else cfg.hidden,
                             n_layers=cfg.layers, kernel_size=cfg.kernel_size,
                             num_classes=self.num_classes if cfg.conditional else None)


@dataclass
class PixelRNNConfig(AutoregressiveConfig):
    kind: str = "row-lstm"  # row-lstm | diagonal-bilstm
    hidden: int = 16
    layers: int = 2  # LSTM layers


@register("pixelrnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="PixelRNN: Row LSTM or Diagonal BiLSTM (skew/unskew), per-pixel softmax")
class PixelRNNExperiment(_Autoregressive):
    Config = PixelRNNConfig

    def build(self, cfg, channels):
        return PixelRNN(cfg.kind, channels, self.levels, hidden=cfg.hidden * channels if channels > 1 else cfg.hidden,
                        n_layers=cfg.layers)


# ====================================================================== VAE
@dataclass
class VAEConfig(GenConfig):
    steps: int = 1500
    eval_every: int = 500
    lr: float = 2e-3
    latent: int = 8
    hidden: int = 256
    beta: float = 1.0
    iwae_k: int = 50  # importance samples of the likelihood estimate


@register("vae", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="VAE: Gaussian encoder, Bernoulli / discretized-logistic decoder, ELBO and IWAE bound")
class VAEExperiment(_Generative):
    Config = VAEConfig

    def setup(self, cfg, ctx):
        self._setup_data(cfg, ctx)
        torch.manual_seed(cfg.seed)
        self.net = VAE(self.shape, latent=cfg.latent, hidden=cfg.hidden, levels=self.levels)
        self.model = ctx.prepare_model(self.net)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def train_step(self):
        x, _ = self._batch()
        with self.ctx.autocast():
            out = self.model(x, self.cfg.beta)
        loss = -out["elbo"].mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        row = {"train/elbo_nats": -loss.item(), "train/recon_nats": -out["recon"].mean().item(),
               "train/kl_nats": out["kl"].mean().item()}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(row)
        return row

    @torch.no_grad()
    def bounds(self, x, k: int, batch: int = 250):
        elbo, iwae = [], []
        with torch.random.fork_rng():  # the same eps at every evaluation (comparable numbers), training RNG untouched
            torch.manual_seed(self.cfg.seed + 4242)
            for i in range(0, len(x), batch):
                elbo.append(self.net.elbo(x[i:i + batch])["elbo"])
                iwae.append(self.net.iwae_bound(x[i:i + batch], k))
        return torch.cat(elbo).mean().item(), torch.cat(iwae).mean().item()

    def evaluate(self):
        elbo, iwae = self.bounds(self.xte, self.cfg.iwae_k)
        _, iwae_val = self.bounds(self.xva, self.cfg.iwae_k)
        out = {"eval/elbo_nats": elbo, "eval/iwae_nats": iwae, "eval/nll_nats": -iwae,
               "eval/bits_per_dim": metrics.bits_per_dim(-iwae, self.dims), "eval/val_nll_nats": -iwae_val}
        if self._wants_fid():
            g = torch.Generator().manual_seed(self.cfg.seed + 12_345)
            out.update(self._sample_scores(self.net.sample(self.cfg.fid_samples, generator=g, mean=False)))
        self._log_history({"eval/elbo_nats": elbo, "eval/iwae_nats": iwae})
        return out

    @torch.no_grad()
    def media(self):
        g = torch.Generator().manual_seed(self.cfg.seed + 1)
        samples = self.net.sample(64, generator=g)
        mu, _ = self.net.encode(self.xte)
        recon = self.net.mean_image(mu[:16])
        pairs = torch.stack([self.xte[:16], recon], 1).flatten(0, 1)
        steps = torch.linspace(-3, 3, 9)
        dims = min(self.cfg.latent, 8)
        z = torch.zeros(dims, 9, self.cfg.latent)
        for d in range(dims):
            z[d, :, d] = steps
        trav = self.net.mean_image(z.view(-1, self.cfg.latent).to(self.device))
        return {"samples": upscale(grid(samples, 8)),
                "reconstructions": upscale(grid(pairs, 8)),  # pairs: test image, reconstruction from mu
                "traversals": upscale(grid(trav, 9)),  # row d: z_d from -3 to 3, the others 0
                "latent_2d": latent_plot(mu, self.yte, "q(z|x) means of the test set"),
                "loss_curve": curve(self.history, ["train/elbo_nats", "eval/elbo_nats", "eval/iwae_nats"],
                                    "VAE bounds (nats per image)")}


# ====================================================================== autoencoders
_AE_LAMBDA = {"undercomplete": 0.0, "denoising": 0.0, "sparse-l1": 0.05, "sparse-kl": 0.5, "contractive": 0.05}


@dataclass
class AutoencoderConfig(GenConfig):
    steps: int = 1000
    eval_every: int = 500
    lr: float = 2e-3
    kind: str = "undercomplete"  # undercomplete | sparse-l1 | sparse-kl | denoising | contractive
    latent: Optional[int] = None  # None: 100 for the sparse kinds (overcomplete), 16 for the others
    hidden: int = 128
    lam: Optional[float] = None  # penalty weight (None: a default per kind)
    rho: float = 0.05  # target mean activation of sparse-kl
    noise: str = "drop"  # denoising corruption: drop | flip | gaussian
    noise_p: float = 0.25
    fid_samples: int = 0  # an autoencoder has no sampler


@register("autoencoder", data="digits", metric="eval/recon_nats", mode="min", select="eval/val_recon_nats",
          description="autoencoders: undercomplete, sparse (L1 or KL), denoising, contractive")
class AutoencoderExperiment(_Generative):
    Config = AutoencoderConfig

    def setup(self, cfg, ctx):
        if cfg.kind not in ae.KINDS:
            raise GymlabError(f"bad value for 'kind': {cfg.kind!r}; valid: {', '.join(ae.KINDS)}")
        if cfg.noise not in ("drop", "flip", "gaussian"):
            raise GymlabError(f"bad value for 'noise': {cfg.noise!r}; valid: drop, flip, gaussian")
        self._setup_data(cfg, ctx)
        if self.levels != 2:
            raise GymlabError(f"the autoencoders use a Bernoulli decoder: data={cfg.data!r} is not binary; "
                              f"valid: digits, mnist, mnist-dynamic")
        torch.manual_seed(cfg.seed)
        latent = cfg.latent or (100 if cfg.kind.startswith("sparse") else 16)
        self.lam = _AE_LAMBDA[cfg.kind] if cfg.lam is None else cfg.lam
        self.net = ae.Autoencoder(self.shape, latent=latent, hidden=cfg.hidden)
        self.model = ctx.prepare_model(self.net)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def train_step(self):
        x, _ = self._batch()
        with self.ctx.autocast():
            out = ae.loss(self.net, x, self.cfg.kind, self.lam, self.cfg.rho, self.cfg.noise, self.cfg.noise_p,
                          generator=self._step_generator())
        self.opt.zero_grad()
        out["loss"].backward()
        self._sync_grads(self.net)  # the loss calls encode/decode directly, not through DDP's forward
        self.opt.step()
        self.step += 1
        row = {"train/loss": out["loss"].item(), "train/recon_nats": out["recon"].item(),
               "train/penalty": out["penalty"].item()}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(row)
        return row

    def _anomalies(self) -> torch.Tensor:
        """Test digits with their pixels shuffled inside each image: the same ink, no digit."""
        g = torch.Generator().manual_seed(self.cfg.seed + 5)
        flat = self.xte.flatten(1).cpu()
        perm = torch.argsort(torch.rand(flat.shape, generator=g), dim=1)
        return torch.gather(flat, 1, perm).view_as(self.xte).to(self.device)

    @torch.no_grad()
    def scores(self, x) -> torch.Tensor:
        return ae.reconstruction_nats(self.net, x)[0]

    @torch.no_grad()
    def evaluate(self):
        from sklearn.metrics import roc_auc_score

        te, va, bad = self.scores(self.xte), self.scores(self.xva), self.scores(self._anomalies())
        auc = roc_auc_score(np.r_[np.zeros(len(te)), np.ones(len(bad))], torch.cat([te, bad]).cpu().numpy())
        h = self.net.encode(self.xte)
        g = torch.Generator().manual_seed(self.cfg.seed + 6)
        noisy = ae.corrupt(self.xte, self.cfg.noise, self.cfg.noise_p, g)
        out = {"eval/recon_nats": te.mean().item(), "eval/val_recon_nats": va.mean().item(),
               "eval/anomaly_auc": float(auc), "eval/mean_activation": h.mean().item(),
               "eval/denoise_nats": ae.reconstruction_nats(self.net, noisy, target=self.xte)[0].mean().item(),
               "eval/jacobian_frobenius": ae.contractive_penalty(self.net, self.xte).sqrt().item()}
        self._log_history({"eval/recon_nats": out["eval/recon_nats"]})
        return out

    @torch.no_grad()
    def media(self):
        x = self.xte[:16]
        pairs = torch.stack([x, self.net(x)], 1).flatten(0, 1)
        g = torch.Generator().manual_seed(self.cfg.seed + 6)
        noisy = ae.corrupt(x, self.cfg.noise, self.cfg.noise_p, g)
        triples = torch.stack([x, noisy, self.net(noisy)], 1).flatten(0, 1)
        te, bad = self.scores(self.xte).cpu(), self.scores(self._anomalies()).cpu()
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.hist(te, bins=30, alpha=0.6, label="test digits")
        ax.hist(bad, bins=30, alpha=0.6, label="shuffled pixels")
        ax.set_xlabel("anomaly score = reconstruction nats")
        ax.legend()
        fig.tight_layout()
        return {"reconstructions": upscale(grid(pairs, 8)),  # pairs: test image, reconstruction
                "denoising": upscale(grid(triples, 6)),  # triples: clean, corrupted, reconstruction
                "latent_2d": latent_plot(self.net.encode(self.xte), self.yte, f"{self.cfg.kind} codes (PCA)"),
                "anomaly_scores": fig,
                "loss_curve": curve(self.history, ["train/recon_nats", "eval/recon_nats"], "reconstruction nats")}


# ====================================================================== GAN
@dataclass
class GANConfig(GenConfig):
    steps: int = 1000
    eval_every: int = 500
    lr: float = 2e-4
    latent: int = 32
    width: int = 32
    loss: str = "non-saturating"  # non-saturating | minimax
    conditional: bool = False
    fid_every_eval: bool = True
    betas: list = field(default_factory=lambda: [0.5, 0.999])


@register("gan", data="digits", metric="eval/fid", mode="min", select="eval/val_fid",
          description="DCGAN: minimax or non-saturating generator loss, optionally class-conditional")
class GANExperiment(_Generative):
    Config = GANConfig

    def setup(self, cfg, ctx):
        if cfg.loss not in ("non-saturating", "minimax"):
            raise GymlabError(f"bad value for 'loss': {cfg.loss!r}; valid: non-saturating, minimax")
        self._setup_data(cfg, ctx)
        torch.manual_seed(cfg.seed)
        nc = self.num_classes if cfg.conditional else None
        try:
            self.G = Generator(self.shape, cfg.latent, cfg.width, nc)
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.D = Discriminator(self.shape, cfg.width, nc)
        self.g_model, self.d_model = ctx.prepare_model(self.G), ctx.prepare_model(self.D)
        betas = tuple(cfg.betas)
        self.opt_g = torch.optim.Adam(self.g_model.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.d_model.parameters(), lr=cfg.lr, betas=betas)

    def _z(self, n, g):
        return torch.randn(n, self.cfg.latent, generator=g).to(self.device)

    def train_step(self):
        x, y = self._batch()
        y = y if self.cfg.conditional else None
        g = self._step_generator()
        with self.ctx.autocast():
            fake = self.g_model(self._z(len(x), g), y)
            d_loss = discriminator_loss(self.d_model(x, y).float(), self.d_model(fake.detach(), y).float())
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        with self.ctx.autocast():
            fake_logits = self.d_model(fake, y).float()
            g_loss = generator_loss(fake_logits, self.cfg.loss)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        row = {"train/d_loss": d_loss.item(), "train/g_loss": g_loss.item(),
               "train/d_fake": torch.sigmoid(fake_logits).mean().item()}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(row)
        return row

    @torch.no_grad()
    def samples(self, n, seed_offset: int = 0):
        self.G.eval()
        g = torch.Generator().manual_seed(self.cfg.seed + 12_345 + seed_offset)
        y = (torch.arange(n) % self.num_classes).to(self.device) if self.cfg.conditional else None
        s = self.G(self._z(n, g), y)
        self.G.train()
        return gdata.quantize(s, self.levels)  # G's outputs rounded onto the data's levels (0/1 for binary)

    def evaluate(self):
        out = {}
        if self._wants_fid():
            out.update(self._sample_scores(self.samples(self.cfg.fid_samples)))
            self._log_history({"eval/fid": out["eval/fid"]})
        return out

    def media(self):
        s = self.samples(100, seed_offset=1)
        return {"samples": upscale(grid(s, 10)),  # conditional: column c holds class c
                "loss_curve": curve(self.history, ["train/d_loss", "train/g_loss", "train/d_fake"], "GAN losses"),
                "fid_curve": curve(self.history, ["eval/fid"], "digits-FID")}

    def state_dict(self):
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "step": self.step, "history": list(self.history)}

    def load_state_dict(self, state):
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.history = state["step"], list(state["history"])
