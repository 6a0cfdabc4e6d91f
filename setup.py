"""One import package, `gymlab`, whose subpackages are the repository's top-level folders.

pyproject.toml holds the metadata; this file only maps folders to package names
(`envs/` -> `gymlab.envs`, ...), listing every folder that has an __init__.py.
"""
from pathlib import Path

from setuptools import setup

SUBPACKAGES = ["envs", "vision", "agents", "generative", "runners"]
HERE = Path(__file__).resolve().parent

package_dir = {"gymlab": "gymlab", **{f"gymlab.{sub}": sub for sub in SUBPACKAGES}}
packages = ["gymlab"]
for sub in SUBPACKAGES:
    for init in sorted((HERE / sub).rglob("__init__.py")):
        packages.append(".".join(["gymlab", *init.parent.relative_to(HERE).parts]))

setup(packages=packages, package_dir=package_dir)
