"""The import graph of DESIGN.md: libraries in layers, and no import cycle between modules (issue 13)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["envs", "vision", "agents", "generative", "runners"]
ALLOWED = {"envs": set(), "vision": set(), "agents": {"envs", "vision"}, "generative": {"vision"},
           "runners": {"envs", "vision", "agents", "generative"}}


def _module_name(path: Path) -> str:
    parts = ["gymlab", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = {_module_name(f): f for p in PACKAGES for f in (ROOT / p).rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        nodes = tree.body if top_level_only else ast.walk(tree)
        deps = set()
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t in modules and t != name}
        graph[name] = deps
    return graph


def test_libraries_import_only_the_layers_below_them():
    for module, deps in _graph(top_level_only=False).items():
        package = module.split(".")[1]
        for dep in deps:
            assert dep.split(".")[1] in ALLOWED[package] | {package}, f"{module} imports {dep}"


def test_no_import_cycle_between_modules():
    """Top-level imports form a DAG (a package's __init__ re-exporting its own modules aside)."""
    graph = _graph(top_level_only=True)
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in graph[node]:
            if node.startswith(dep + "."):  # a module importing its own package's __init__
                continue
            if state.get(dep) == 1 and not dep.startswith(node + "."):
                raise AssertionError("import cycle: " + " -> ".join([*path, node, dep]))
            if dep not in state:
                visit(dep, [*path, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
