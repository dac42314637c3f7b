"""The package's layout, as the README's "Layout" section draws it: layers that import downward only, no import
circles (lazy imports inside functions count), no private name imported across modules, no function over 80 lines.
Read from the source (ast), so a test fails on the line that breaks the rule, not on an import error later."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gancourse"
MAX_LINES = 80

# Lowest first: a module may import its own layer and the layers below it, never one above.
LAYERS = [
    ("support", {"validation", "runtime", "checkpoints", "viz", "defaults"}),
    ("maths of lectures 01-04", {"divergences", "discriminator", "games", "transport", "lipschitz"}),
    ("data", {"data"}),
    (
        "nets and objectives",
        {"nets", "ensemble", "dcgan", "losses", "wasserstein", "hooks", "techniques", "conditional", "cvae"},
    ),
    ("the loop", {"train", "training"}),
    ("metrics", {"metrics", "classifier"}),
    ("assignments", {"checks", "feedback", "assign", "grade", "grading", "notebooks"}),
    ("apart", {"bench", "site"}),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> dict[str, list[tuple[int, str]]]:
    """The package's modules ``name`` imports (anywhere in the file), each with (line, imported names)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: dict[str, list[tuple[int, str]]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [(a.name, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [
                (f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module, a.name) for a in node.names
            ]
        else:
            continue
        for target, imported in targets:
            if target in MODULES and target != name:
                found.setdefault(target, []).append((node.lineno, imported))
    return found


GRAPH = {name: imports(name, path) for name, path in MODULES.items()}


def layer(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None  # the package's __init__ gathers every layer's public names
    for i, (_, members) in enumerate(LAYERS):
        if parts[1] in members:
            return i
    return None


def test_every_module_has_a_layer():
    missing = sorted(n for n in MODULES if n != "gancourse" and layer(n) is None)
    assert not missing, f"modules missing from the layers of tests/test_layout.py and the README: {missing}"


def test_layers_import_downward_only():
    upward = [
        f"{name} ({LAYERS[layer(name)][0]}) imports {target} ({LAYERS[layer(target)][0]}) at line {lines[0][0]}"
        for name, targets in GRAPH.items()
        if layer(name) is not None
        for target, lines in targets.items()
        if layer(target) is not None and layer(target) > layer(name)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_circles():
    """Tarjan's strongly connected components over every import, lazy ones included."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w == "gancourse":
                continue  # `from gancourse import x` names the module x, resolved above
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_no_private_name_is_imported_across_modules():
    private = [
        f"{name} imports {imported} from {target} (line {line})"
        for name, targets in GRAPH.items()
        for target, lines in targets.items()
        for line, imported in lines
        if imported.startswith("_") and not imported.startswith("__")
    ]
    assert not private, "\n".join(private)


@pytest.mark.parametrize("name", sorted(MODULES), ids=str)
def test_no_function_is_over_80_lines(name):
    long = [
        f"{node.name} at line {node.lineno}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(MODULES[name].read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]
    assert not long, f"{name}: " + "; ".join(long)


def test_the_checks_catch_what_they_describe(tmp_path):
    """The rules above fail on a planted upward import, circle and long function (so they are not vacuous)."""
    assert layer("gancourse.data") < layer("gancourse.train") < layer("gancourse.metrics")
    planted = "def f():\n" + "    x = 1\n" * MAX_LINES + "    return x\n"
    tree = ast.parse(planted)
    assert any(n.end_lineno - n.lineno + 1 > MAX_LINES for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    fake = tmp_path / "data.py"
    fake.write_text("def g():\n    from gancourse.train import train\n    from gancourse.nets import _hidden\n")
    found = imports("gancourse.data", fake)
    assert "gancourse.train" in found and found["gancourse.nets"] == [(3, "_hidden")]
