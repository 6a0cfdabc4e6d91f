"""The `gymlab` command line: list, run, eval, resume, compare, sweep, tour.

    gymlab list                                   experiments, one line each, with their default data/env
    gymlab run NAME [key=value ...] [--json]      run one; prints the summary (only JSON on stdout with --json)
    gymlab eval RUN_DIR [key=value ...] [--checkpoint best|latest]
                                                  re-evaluate a checkpoint; keys: device and evaluation
                                                  keys (eval_episodes, eval_seed, ...)
    gymlab resume RUN_DIR [key=value ...] [--checkpoint latest|best]
                                                  continue an interrupted run (keys: budget and cadence)
    gymlab convert CHECKPOINT ...                 rewrite a trusted checkpoint of an older gymlab as plain data
    gymlab compare NAME NAME ... [seeds=N]        the same budget, several seeds, one table and one plot
    gymlab sweep NAME key=a,b,c ... [--address]   Ray Tune search with ASHA early stopping
    gymlab tour                                   the main job on embedded data
    gymlab dashboard [--project P] [--save]       the project's W&B workspace, as code (wandb-workspaces)
    gymlab show NAME                              the config keys of an experiment with their defaults

Your own experiments: ``--plugin MODULE_OR_FILE.py`` (any command, repeatable) or ``$GYMLAB_PLUGINS``
(comma-separated), or a ``gymlab.experiments`` entry point in your package (see README).

``--help``, ``list`` and ``show`` import neither torch nor an experiment module (runners.registry's
index), so they answer at once.

Errors in what was asked (unknown experiment, bad override, missing run, corrupt checkpoint) are one
line on stderr and exit code 2; Ctrl-C saves a checkpoint and exits with 130.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings


def _print_summary(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, default=str))
        return
    from gymlab.runners.media import fmt

    width = max(len(k) for k in summary) if summary else 0
    for k, v in summary.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        print(f"{k:<{width}}  {fmt(v)}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gymlab", description="Run, compare and sweep the experiments of gymlab.",
                                epilog="--plugin MODULE|FILE.py (any command, repeatable) or $GYMLAB_PLUGINS: "
                                       "your own experiments, registered with gymlab.register")
    p.add_argument("--plugin", action="append", metavar="MODULE|FILE.py",
                   help="import a module that registers experiments (also: $GYMLAB_PLUGINS)")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.add_parser("list", help="the experiments, one line each")
    s = sub.add_parser("show", help="an experiment's config keys and defaults")
    s.add_argument("name")
    r = sub.add_parser("run", help="run one experiment")
    r.add_argument("name")
    r.add_argument("overrides", nargs="*", metavar="key=value")
    r.add_argument("--json", action="store_true", help="print the summary as JSON (and nothing else) on stdout")
    r.add_argument("--nproc", type=int, default=1, help="data-parallel processes (torchrun)")
    e = sub.add_parser("eval", help="re-evaluate a run's checkpoint (key=value: device, evaluation keys)")
    e.add_argument("run_dir")
    e.add_argument("overrides", nargs="*", metavar="key=value")
    e.add_argument("--checkpoint", choices=["best", "latest"], default="best")
    e.add_argument("--json", action="store_true")
    rs = sub.add_parser("resume", help="continue an interrupted run")
    rs.add_argument("run_dir")
    rs.add_argument("overrides", nargs="*", metavar="key=value")
    rs.add_argument("--checkpoint", choices=["latest", "best"], default="latest",
                    help="continue from best.pt (e.g. when latest.pt is corrupt)")
    rs.add_argument("--json", action="store_true")
    cv = sub.add_parser("convert", help="rewrite a trusted old checkpoint as plain data (it runs the file's code)")
    cv.add_argument("paths", nargs="+", metavar="CHECKPOINT")
    c = sub.add_parser("compare", help="several experiments, several seeds, one table and plot")
    c.add_argument("items", nargs="+", metavar="NAME|key=value", help="experiment names, then seeds=N, workers=N, key=value")
    c.add_argument("--json", action="store_true")
    sub.add_parser("sweep", help="Ray Tune search (gymlab sweep --help)", add_help=False)
    sub.add_parser("dashboard", help="the project's W&B workspace, as code (gymlab dashboard --help)", add_help=False)
    t = sub.add_parser("tour", help="the main job: one short experiment of each pillar")
    t.add_argument("overrides", nargs="*", metavar="key=value", help="applied to every run (e.g. device=cpu)")
    return p


def _take_plugins(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split ``--plugin X`` / ``--plugin=X`` (anywhere on the line) from the rest of argv."""
    plugins, rest, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--plugin" and i + 1 < len(argv):
            plugins.append(argv[i + 1])
            i += 2
            continue
        if a.startswith("--plugin="):
            plugins.append(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    return plugins, rest


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from gymlab.runners.errors import GymlabError

    plugins, argv = _take_plugins(argv)
    if plugins:
        from gymlab.runners import registry

        try:
            registry.add_plugins(plugins)  # also into $GYMLAB_PLUGINS, for subprocesses and Ray workers
        except GymlabError as e:
            print(f"gymlab: error: {e}", file=sys.stderr)
            return 2
    if argv and argv[0] == "sweep":
        try:
            from gymlab.runners import sweep
        except ImportError as e:
            print(f"gymlab: error: sweep needs Ray Tune ({e}); install it with: pip install 'gymlab[ray]'", file=sys.stderr)
            return 2
        try:
            return sweep.main(argv[1:])
        except GymlabError as e:
            print(f"gymlab: error: {e}", file=sys.stderr)
            return 2
    if argv and argv[0] == "dashboard":
        from gymlab.runners import dashboard

        try:
            return dashboard.main(argv[1:])
        except GymlabError as e:
            print(f"gymlab: error: {e}", file=sys.stderr)
            return 2
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # key=value items after a flag (`run softmax --json lr=0.1`) land in `extra`: give them back.
    bad = [x for x in extra if x.startswith("-") or "=" not in x]
    if bad:
        parser.error(f"unrecognized arguments: {' '.join(bad)}")
    for field in ("overrides", "items"):
        if hasattr(args, field):
            setattr(args, field, [*getattr(args, field), *extra])
            extra = []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.cmd is None:
        _parser().print_help()
        return 2
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return _dispatch(args)
    except GymlabError as e:
        loop = sys.modules.get("gymlab.runners.loop")  # not imported by list/show: they stay fast
        interrupted = loop is not None and isinstance(e, loop.RunInterrupted)
        print(f"gymlab: {'' if interrupted else 'error: '}{e}", file=sys.stderr)
        return 130 if interrupted else 2
    except KeyboardInterrupt:
        print("gymlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gymlab list | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as e:  # an operating-system error no layer below turned into a GymlabError: still one line
        where = f" {e.filename}:" if e.filename else ""
        print(f"gymlab: error:{where} {e.strerror or e}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    from gymlab.runners import registry

    as_json = getattr(args, "json", False)
    # With --json, stdout carries the JSON alone: anything else a library prints goes to stderr.
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    if args.cmd == "list":  # from the index: no torch, no experiment module
        entries = registry.catalog()
        w = max(len(e["name"]) for e in entries)
        wd = max(len(e["data"] or "-") for e in entries)
        for e in entries:
            print(f"{e['name']:<{w}}  {e['data'] or '-':<{wd}}  {e['description']}")
        return 0
    if args.cmd == "show":
        e = registry.catalog_entry(args.name)
        print(f"# {e['name']}: {e['description']}\n# main metric: {e['metric']} ({e['mode']})")
        print(e["config"])
        return 0
    from gymlab.runners import loop

    if args.cmd == "run":
        if args.nproc > 1:
            from gymlab.runners import distributed

            return distributed.launch(args.name, args.overrides, args.nproc, as_json)
        with quiet_stdout:
            summary = loop.run(args.name, args.overrides)
        _print_summary(summary, as_json)
        return 0
    if args.cmd == "eval":
        with quiet_stdout:
            summary = loop.evaluate_run(args.run_dir, args.checkpoint, args.overrides)
        _print_summary(summary, as_json)
        return 0
    if args.cmd == "resume":
        with quiet_stdout:
            summary = loop.resume(args.run_dir, args.overrides, checkpoint=args.checkpoint)
        _print_summary(summary, as_json)
        return 0
    if args.cmd == "convert":
        from gymlab.runners.checkpoint import convert

        for path in args.paths:
            print(f"converted {convert(path)} (the original is kept as {path}.orig)")
        return 0
    if args.cmd == "compare":
        from gymlab.runners.compare import compare

        names = [i for i in args.items if "=" not in i]
        items = [i for i in args.items if "=" in i]
        with quiet_stdout:
            result = compare(names, items)
        if as_json:
            print(json.dumps(result, default=str))
        else:
            print(open(result["markdown"]).read())
            print(f"table: {result['markdown']}\nplot:  {result['plot']}")
        return 0
    if args.cmd == "tour":
        from gymlab.runners.tour import tour

        os.environ.setdefault("WANDB_MODE", "offline")
        tour(extra=args.overrides)
        return 0
    raise AssertionError(args.cmd)


if __name__ == "__main__":
    sys.exit(main())
