"""`gymlab dashboard [--project P]`: the project's W&B workspace, written as code (``wandb-workspaces``).

One section a pillar: its headline metric against that pillar's x axis (the ``define_metric`` axes of
``wandb_logger``: env steps for RL, examples seen for generative models, epochs for the rest), runs
grouped by ``group`` (the seeds of one configuration: mean and standard deviation), and panels for the
media the runs log. ``build_workspace`` needs no network; ``save`` writes the view when W&B is online.

    gymlab dashboard                       the panels, as a list; saved to W&B when WANDB_MODE=online
    gymlab dashboard --project P --save    write the workspace "gymlab" of project P to W&B
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from gymlab.runners.errors import GymlabError
from gymlab.runners.wandb_logger import axis_of

# pillar -> (section title, line plots as (title, [metrics]), media keys as logged (media/<name>))
SECTIONS = {
    "classification": ("Classification", [("test and validation accuracy", ["eval/accuracy", "eval/val_accuracy"]),
                                          ("loss", ["train/loss", "eval/loss"])],
                       ["media/first_layer", "media/templates"]),
    "detection": ("Detection", [("mAP@0.5", ["eval/map50", "eval/val_map50"]), ("loss", ["train/loss"])],
                  ["media/predictions", "media/scenes"]),
    "segmentation": ("Segmentation", [("mean IoU", ["eval/miou", "eval/val_miou"]), ("loss", ["train/loss"])],
                     ["media/mask_overlays", "media/masks"]),
    "vision": ("Understanding and image optimisation",
               [("headline", ["eval/accuracy", "eval/saliency_in_box", "eval/exact_match"])],
               ["media/saliency", "media/occlusion", "media/class_visualization", "media/captions"]),
    "rl": ("Reinforcement learning", [("evaluation return", ["eval/mean_return"]),
                                      ("training episodes", ["train/episode_return"])],
           ["media/episode", "media/return_curve"]),
    "generative": ("Generative models", [("bits per dimension", ["eval/bits_per_dim"]),
                                         ("negative log-likelihood (nats)", ["eval/nll_nats", "eval/val_nll_nats"]),
                                         ("FID", ["eval/fid"])],
                   ["media/samples", "media/reconstructions", "media/completions"]),
}


def _workspaces():
    try:
        import wandb_workspaces.reports.v2 as wr
        import wandb_workspaces.workspaces as ws
    except ImportError:
        raise GymlabError("gymlab dashboard needs the wandb-workspaces package: "
                          "pip install 'gymlab[dashboard]' (or pip install wandb-workspaces)") from None
    return ws, wr


def build_workspace(project: str = "gymlab", entity: str | None = None, name: str = "gymlab"):
    """The workspace object (not saved): one section a pillar, line plots grouped by run group, media panels."""
    ws, wr = _workspaces()
    sections = []
    for pillar, (title, plots, media) in SECTIONS.items():
        x = axis_of(pillar)
        panels = [wr.LinePlot(title=f"{t} vs {x.split('/')[-1].replace('_', ' ')}", x=x, y=list(ys),
                              groupby="Group", groupby_aggfunc="mean", groupby_rangefunc="stddev")
                  for t, ys in plots]
        panels.append(wr.MediaBrowser(title=f"{title}: media", media_keys=list(media)))
        sections.append(ws.Section(name=title, panels=panels, is_open=True))
    return ws.Workspace(entity=entity or os.environ.get("WANDB_ENTITY") or "gymlab", project=project, name=name,
                        sections=sections,
                        settings=ws.WorkspaceSettings(x_axis="Step", smoothing_type="none", max_runs=20),
                        runset_settings=ws.RunsetSettings(groupby=[ws.Metric("Group")]))


def describe(workspace) -> list[dict]:
    """The panels a W&B user will see: section, kind, title, x axis, metrics or media keys."""
    out = []
    for s in workspace.sections:
        for p in s.panels:
            keys = list(getattr(p, "y", None) or getattr(p, "media_keys", None) or [])
            out.append({"section": s.name, "panel": type(p).__name__, "title": p.title,
                        "x": getattr(p, "x", None) or "", "keys": ", ".join(keys)})
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gymlab dashboard", description="the project's W&B workspace, as code")
    p.add_argument("--project", default="gymlab", help="the W&B project (logger.project of the runs)")
    p.add_argument("--entity", default=None, help="the W&B entity (default: $WANDB_ENTITY, else your default)")
    p.add_argument("--name", default="gymlab", help="the workspace's name")
    p.add_argument("--save", action="store_true",
                   help="write it to W&B (the default when WANDB_MODE=online; needs network and an API key)")
    p.add_argument("--json", action="store_true", help="print the panels as JSON")
    args = p.parse_args(argv)
    save = args.save or os.environ.get("WANDB_MODE") == "online"
    entity = args.entity
    if save and entity is None and not os.environ.get("WANDB_ENTITY"):
        try:
            import wandb

            entity = wandb.Api(timeout=15).default_entity
        except Exception as e:  # noqa: BLE001
            raise GymlabError(f"cannot reach W&B to find your entity ({type(e).__name__}); pass --entity, "
                              f"or run without --save to see the panels") from None
    workspace = build_workspace(args.project, entity, args.name)
    panels = describe(workspace)
    if args.json:
        print(json.dumps(panels, indent=1))
    else:
        from gymlab.runners.media import markdown_table

        print(markdown_table(panels), end="")
    if save:
        try:
            workspace.save()
        except Exception as e:  # noqa: BLE001
            raise GymlabError(f"W&B did not save the workspace ({type(e).__name__}: {e}); "
                              f"check the network and `wandb login`") from None
        print(f"saved: {workspace.url}", file=sys.stderr)
    else:
        print(f"not saved: W&B is offline here (--save, or WANDB_MODE=online, writes it to project "
              f"{args.project!r})", file=sys.stderr)
    return 0
