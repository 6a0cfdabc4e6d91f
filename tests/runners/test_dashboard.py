"""`gymlab dashboard`: the workspace is built offline (no network) and its definition checked panel by panel."""
import json

import pytest

pytest.importorskip("wandb_workspaces")

from gymlab.runners import cli  # noqa: E402
from gymlab.runners.dashboard import SECTIONS, build_workspace, describe  # noqa: E402


def test_workspace_has_a_section_per_pillar_with_its_axis_grouped_seeds_and_media():
    w = build_workspace(project="my-project", entity="someone")
    assert w.project == "my-project" and w.entity == "someone"
    assert [s.name for s in w.sections] == [title for title, _, _ in SECTIONS.values()]
    panels = {(p["section"], p["title"]): p for p in describe(w)}
    rl = panels[("Reinforcement learning", "evaluation return vs env steps")]
    assert rl["x"] == "train/env_steps" and rl["keys"] == "eval/mean_return"
    assert panels[("Generative models", "bits per dimension vs examples")]["x"] == "train/examples"
    assert panels[("Classification", "test and validation accuracy vs epoch")]["x"] == "train/epoch"
    assert "media/mask_overlays" in panels[("Segmentation", "Segmentation: media")]["keys"]
    assert "media/predictions" in panels[("Detection", "Detection: media")]["keys"]
    assert "media/episode" in panels[("Reinforcement learning", "Reinforcement learning: media")]["keys"]
    # the definition W&B would receive: line plots grouped by run group (mean and std of the seeds)
    spec = json.dumps(w._to_model().model_dump(by_alias=True, exclude_none=True))
    assert spec.count('"groupAgg": "mean"') == sum(len(plots) for _, plots, _ in SECTIONS.values())
    assert "train/env_steps" in spec and "media/episode" in spec


def test_cli_prints_the_panels_and_saves_nothing_offline(capsys, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert cli.main(["dashboard", "--project", "p", "--json"]) == 0
    out, err = capsys.readouterr()
    panels = json.loads(out)
    assert {p["section"] for p in panels} >= {"Classification", "Detection", "Segmentation",
                                             "Reinforcement learning", "Generative models"}
    assert "not saved" in err


def test_online_saves_the_workspace_and_a_failed_save_is_one_line(capsys, monkeypatch):
    import wandb_workspaces.workspaces as ws

    saved = []
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setattr(ws.Workspace, "save", lambda self: saved.append((self.entity, self.project)) or self)
    monkeypatch.setattr(ws.Workspace, "url", property(lambda self: f"https://wandb.ai/{self.entity}/{self.project}"))
    assert cli.main(["dashboard", "--project", "p", "--entity", "me"]) == 0
    assert saved == [("me", "p")] and "saved: https://wandb.ai/me/p" in capsys.readouterr().err

    def no_network(self):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ws.Workspace, "save", no_network)
    assert cli.main(["dashboard", "--entity", "me"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gymlab: error: W&B did not save the workspace (ConnectionError")
