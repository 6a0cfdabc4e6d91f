"""The distribution installs exactly one top-level module, `gymlab` (issue 13)."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "setup.py", "README.md", "LICENSE", "gymlab", "envs", "vision", "agents",
           "generative", "runners"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out)], check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("gymlab-*.whl")
    return whl


def test_wheel_has_one_top_level_name(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
        assert top == {"gymlab"}
        dist_info = next(n for n in names if n.endswith(".dist-info/top_level.txt")) if any(
            n.endswith("top_level.txt") for n in names) else None
        if dist_info:
            assert z.read(dist_info).decode().split() == ["gymlab"]
        entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "gymlab = gymlab.runners.cli:main" in z.read(entry).decode()


def test_every_source_package_is_in_the_wheel(wheel):
    """setup.py lists packages from the folders' __init__.py files: none may be left out."""
    with zipfile.ZipFile(wheel) as z:
        inits = {n for n in z.namelist() if n.endswith("__init__.py")}
    for sub in ["envs", "vision", "agents", "generative", "runners"]:
        for init in (ROOT / sub).rglob("__init__.py"):
            assert "gymlab/" + init.relative_to(ROOT).as_posix() in inits


def test_installed_wheel_imports_gymlab_not_agents(wheel, tmp_path):
    """In a fresh target folder holding only the wheel's files: `import gymlab.agents` works and
    `import agents` fails (the dependencies come from this environment)."""
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    code = ("import sys; sys.path = [p for p in sys.path if p not in ('', %r)]; sys.path.insert(0, %r)\n"
            "import gymlab, gymlab.agents, gymlab.envs.tabular\n"
            "assert gymlab.agents.__file__.startswith(%r), gymlab.agents.__file__\n"
            "try:\n    import agents\nexcept ImportError:\n    print('ok')\n") % (str(ROOT), str(target), str(target))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
