"""Typed configs: dataclass defaults, ``key=value`` overrides (dotted for nested), validated by OmegaConf.

Every experiment's ``Config`` derives from :class:`RunConfig`, which holds what the runner owns
(seed, device, budget, evaluation cadence, logger); the experiment adds its own fields and may
change the defaults of these. Shared groups are nested dataclasses (``group(OptimConfig, lr=0.05)``):
``optim.name``, ``optim.lr``, ``data.name``, ``agent.n_envs``. Shorter spellings keep working:

    lr=0.1          a key no field has, found in exactly one group      -> optim.lr=0.1
    data=mnist      a group given a plain value                        -> data.name=mnist
    optimizer=adam  a name in ALIASES (or the config's own ``aliases``) -> optim.name=adam
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Literal, Optional

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gymlab.runners.errors import GymlabError


@dataclass
class LoggerConfig:
    mode: Optional[str] = None  # online | offline | disabled; None: $WANDB_MODE, else offline
    project: str = "gymlab"  # the W&B project (run, compare, sweep, dashboard)
    group: Optional[str] = None  # None: the experiment and a hash of its config without the seed
    tags: list = field(default_factory=list)  # added to the automatic ones (pillar, experiment, env or data)
    job_type: Optional[str] = None  # train | eval | compare | sweep; None: train
    media_every: int = 0  # media at every k-th evaluation too (0: only at the end of the run)
    artifacts: bool = True  # the checkpoints as a W&B model artifact (aliases latest, best)


@dataclass
class OptimConfig:
    name: Literal["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"] = "adam"  # the update rule
    lr: float = 1e-3  # learning rate
    momentum: float = 0.9  # momentum and nesterov only
    weight_decay: float = 0.0  # L2 penalty on the weights (torch.optim's weight_decay)
    schedule: Literal["none", "step", "plateau", "onecycle"] = "none"  # step: lr *= gamma every step_size epochs; plateau: lr /= 10; onecycle: warm up then anneal, per step
    step_size: int = 10  # schedule=step: epochs between decays
    gamma: float = 0.1  # schedule=step: the decay factor
    patience: int = 2  # schedule=plateau: epochs without a better validation loss before a decay


@dataclass
class DataConfig:
    name: str = "digits"  # digits | mnist | fashion-mnist | cifar10 | a folder with a subfolder per class | an .npz
    root: Optional[str] = None  # cache folder for mnist/fashion-mnist/cifar10 (default $GYMLAB_DATA)
    max_train: int = 0  # use only the first N training images (0: all)


def group(cls, **defaults):
    """A nested config group with its own defaults: ``optim: OptimConfig = group(OptimConfig, lr=0.05)``."""
    return field(default_factory=functools.partial(cls, **defaults), metadata={"group": cls})


# Old or familiar key names -> their dotted keys (the README's commands keep working).
ALIASES = {"optimizer": "optim.name", "data_root": "data.root"}


@dataclass
class RunConfig:
    seed: int = 0  # seeds python, numpy, torch and the envs: CPU runs repeat bit for bit
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    steps: int = 1000  # budget in train_step calls
    epochs: Optional[float] = None  # budget in epochs (overrides steps; uses steps_per_epoch)
    seconds: Optional[float] = None  # wall-clock budget (stops at whichever comes first)
    eval_every: int = 100  # train steps between evaluations (the last step always evaluates)
    log_every: int = 1  # train steps between scalar logs
    checkpoint_every: int = 0  # 0: at every evaluation
    media_every_eval: bool = False  # media at every evaluation (the same as logger.media_every=1)
    sanity: bool = False  # babysitting checks before training (issue 9)
    out: str = "runs"  # parent folder of run directories
    run_dir: Optional[str] = None  # explicit run directory (default: <out>/<name>-<timestamp>)
    progress: bool = True  # a progress bar on stderr
    amp: bool = False  # bf16 autocast (experiments run forward passes under ctx.autocast())
    compile: bool = False  # torch.compile the model (ctx.prepare_model)
    logger: LoggerConfig = field(default_factory=LoggerConfig)


def group_class(f: dataclasses.Field):
    """The dataclass of a nested group field (``logger``, ``optim``, ...), or None for a plain field."""
    if "group" in f.metadata:
        return f.metadata["group"]
    t = f.default_factory if f.default_factory is not dataclasses.MISSING else None
    return t if t is not None and isinstance(t, type) and dataclasses.is_dataclass(t) else None


def flat_keys(cfg_cls) -> list[str]:
    """All valid dotted keys of a config dataclass."""
    keys = []
    for f in dataclasses.fields(cfg_cls):
        g = group_class(f)
        keys += [f"{f.name}.{k}" for k in flat_keys(g)] if g is not None else [f.name]
    return keys


def resolve_key(cfg_cls, key: str, value: str = "") -> str:
    """The dotted key that ``key`` stands for (itself when valid; see the module docstring)."""
    valid = flat_keys(cfg_cls)
    if key in valid:
        return key
    own = getattr(cfg_cls, "aliases", {})
    for table in (own, ALIASES):
        if table.get(key) in valid:
            return table[key]
    if f"{key}.name" in valid and not value.lstrip().startswith("{"):
        return f"{key}.name"  # data=mnist
    inside = [k for k in valid if "." in k and k.split(".", 1)[1] == key and not k.startswith("logger.")]
    return inside[0] if len(inside) == 1 else key


def parse_overrides(items: list[str]) -> list[str]:
    out = []
    for item in items:
        if "=" not in item or item.startswith("="):
            raise GymlabError(f"bad override {item!r}: expected key=value (e.g. lr=0.1 or logger.mode=disabled)")
        out.append(item)
    return out


def build(cfg_cls, overrides: list[str] = (), base: Optional[dict] = None):
    """Return a validated instance of ``cfg_cls`` with ``base`` (a saved config) and overrides applied."""
    valid = flat_keys(cfg_cls)
    try:
        overrides = parse_overrides(list(overrides))
    except GymlabError as e:
        raise GymlabError(f"{e}; valid keys: {', '.join(valid)}") from None
    schema = OmegaConf.structured(cfg_cls)
    try:
        if base is not None:
            schema = OmegaConf.merge(schema, _nest_flat(cfg_cls, base))
    except OmegaConfBaseException as e:
        raise GymlabError(f"saved config does not fit {cfg_cls.__name__}: {_one_line(e)}") from None
    for item in overrides:
        key, value = item.split("=", 1)
        if key not in valid:  # lr -> optim.lr, data=mnist -> data.name, SB3's learning_rate -> lr (module docstring)
            key = resolve_key(cfg_cls, key, value)
            item = f"{key}={value}"
        if key not in valid:
            import difflib

            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise GymlabError(f"unknown key {key!r}{hint}; valid keys: {', '.join(valid)}")
        try:
            schema = OmegaConf.merge(schema, OmegaConf.from_dotlist([item]))
        except yaml.YAMLError as e:  # e.g. net_arch=[32,32 (an unclosed list)
            raise GymlabError(f"bad value for {key!r}: {value!r} is malformed ({_one_line(e.problem or e)}); "
                              f"write a list as [32,32] and a string with spaces in quotes") from None
        except OmegaConfBaseException:
            choices = _choices_of(cfg_cls, key)
            if choices is not None:  # a Literal field: name the valid values, not the keys
                raise GymlabError(f"bad value for {key!r}: {value!r}; valid: {', '.join(map(str, choices))}") from None
            want = _type_of(cfg_cls, key)
            raise GymlabError(f"bad value for {key!r}: {value!r} is not {want}; valid keys: {', '.join(valid)}") from None
    try:
        cfg = OmegaConf.to_object(schema)
    except OmegaConfBaseException as e:  # an interpolation ${...} that names no key, or resolves to a wrong type
        key = getattr(e, "full_key", None) or "?"
        raise GymlabError(f"bad value for {key!r}: {_one_line(e).split(' full_key:')[0]}; "
                          f"${{...}} may only name another key of this config (e.g. eval_every=${{steps}})") from None
    _check_runner_fields(cfg)
    check_ranges(cfg)
    return cfg


def _nest_flat(cfg_cls, saved: dict) -> dict:
    """A saved config written before a key moved into a group (``lr`` at the top): nested as it is now."""
    names = {f.name for f in dataclasses.fields(cfg_cls)}
    out: dict = {}
    for key, value in dict(saved).items():
        if key in names and (isinstance(value, dict) or f"{key}.name" not in flat_keys(cfg_cls)):
            out.setdefault(key, {}).update(value) if isinstance(value, dict) else out.__setitem__(key, value)
            continue
        target = resolve_key(cfg_cls, key, str(value))
        head, _, rest = target.partition(".")
        if rest and head in names:
            out.setdefault(head, {})[rest] = value
        else:
            out[key] = value  # unknown: OmegaConf names it
    return out


# The valid range of common numeric keys, wherever a config has them: (low, high, description).
# A config field may declare its own with ``field(metadata={"range": (low, high, description)})``.
RANGES = {
    "seed": (0, 2**32 - 1, "an integer in [0, 2^32)"),
    "steps": (1, None, "at least 1"),
    "epochs": (1e-12, None, "greater than 0"),
    "seconds": (1e-12, None, "greater than 0"),
    "timesteps": (1, None, "at least 1"),
    "eval_every": (1, None, "at least 1"),
    "log_every": (1, None, "at least 1"),
    "checkpoint_every": (0, None, "0 (at every evaluation) or more"),
    "batch_size": (1, None, "at least 1"),
    "n_envs": (1, None, "at least 1"),
    "n_steps": (1, None, "at least 1"),
    "n_epochs": (1, None, "at least 1"),
    "eval_episodes": (1, None, "at least 1"),
    "frame_stack": (1, None, "at least 1"),
    "frame_height": (1, None, "at least 1"),
    "frame_width": (1, None, "at least 1"),
    "torch_threads": (0, None, "0 (torch's setting) or more"),
    "gamma": (0, 1, "in [0, 1]"),
}


def check_ranges(cfg, prefix: str = "") -> None:
    """One-line GymlabError naming the first numeric key outside its valid range (RANGES or field metadata)."""
    for f in dataclasses.fields(cfg):
        rng = f.metadata.get("range") or RANGES.get(f.name)
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            check_ranges(v, f"{prefix}{f.name}.")
            continue
        if rng is None or v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        low, high, what = rng
        if (low is not None and v < low) or (high is not None and v > high) or v != v:
            if f.name == "steps" and getattr(cfg, "epochs", None) is not None:
                continue  # an epochs budget replaces steps
            raise GymlabError(f"bad value for {prefix + f.name!r}: {v}; it must be {what}")


def _choices_of(cfg_cls, key: str) -> tuple | None:
    """The values a ``Literal[...]`` field allows (None for any other type)."""
    import typing

    cls = cfg_cls
    parts = key.split(".")
    for part in parts[:-1]:
        cls = group_class({f.name: f for f in dataclasses.fields(cls)}[part])
    hint = typing.get_type_hints(cls).get(parts[-1])
    if typing.get_origin(hint) is typing.Union:  # Optional[Literal[...]]
        hint = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None


def _type_of(cfg_cls, key: str) -> str:
    cls = cfg_cls
    parts = key.split(".")
    for part in parts[:-1]:
        cls = group_class({f.name: f for f in dataclasses.fields(cls)}[part])
    f = {f.name: f for f in dataclasses.fields(cls)}[parts[-1]]
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return f"a valid {t}"


def _check_runner_fields(cfg) -> None:
    if cfg.logger.mode not in (None, "online", "offline", "disabled"):
        raise GymlabError(f"bad value for 'logger.mode': {cfg.logger.mode!r}; valid: online, offline, disabled")
    if cfg.steps < 1 and cfg.epochs is None:
        raise GymlabError(f"bad value for 'steps': {cfg.steps}; it must be at least 1")
    if cfg.logger.media_every < 0:
        raise GymlabError(f"bad value for 'logger.media_every': {cfg.logger.media_every}; it must be 0 or more")
    if cfg.eval_every < 1:
        raise GymlabError(f"bad value for 'eval_every': {cfg.eval_every}; it must be at least 1")


def to_dict(cfg) -> dict:
    return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)


def to_yaml(cfg) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def field_help(cfg_cls, prefix: str = "") -> dict[str, str]:
    """Each key's one-line help: the comment after its field in the source (CleanRL's habit), the
    nearest class's comment winning; dotted keys for nested groups."""
    import inspect
    import io
    import tokenize

    names = {f.name for f in dataclasses.fields(cfg_cls)}
    out: dict[str, str] = {}
    for klass in reversed(cfg_cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        line_key = {}
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names:
                line_key.setdefault(tok.start[0], tok.string)  # a field at class-body indentation
            elif tok.type == tokenize.COMMENT and tok.start[0] in line_key:
                out[prefix + line_key[tok.start[0]]] = tok.string.lstrip("#").strip()
    for f in dataclasses.fields(cfg_cls):
        if group_class(f) is not None:
            out.update(field_help(group_class(f), f"{prefix}{f.name}."))
    return out


def annotated_yaml(cfg_cls) -> str:
    """The defaults as YAML with each key's help as a comment (what ``gymlab show`` prints)."""
    helps = field_help(cfg_cls)
    lines, path = [], []
    for line in to_yaml(cfg_cls()).splitlines():
        key = line.lstrip(" ")
        if ":" in key and not key.startswith("- "):
            depth = (len(line) - len(key)) // 2
            path = path[:depth] + [key.split(":", 1)[0]]
            text = helps.get(".".join(path))
            if text:
                line = f"{line}  # {text}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())
