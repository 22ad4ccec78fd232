"""The folder tree is the architecture: layers import only downward, modules use each other's public names,
subpackage ``__init__`` files fit on a screen, functions stay short, ``import linvae`` loads no plotting, and the code
passes the project's ruff rules."""

import ast
import pathlib
import shutil
import subprocess
import sys

import pytest

import linvae

PACKAGE = pathlib.Path(linvae.__file__).parent
ROOT = PACKAGE.parent

# What each part of the package may import from linvae (the architecture diagram of docs and README).
ALLOWED = {
    "_errors": set(),
    "_numerics": set(),
    "_version": set(),
    "_files": {"_errors"},
    "model": {"_errors"},
    "theory": {"_errors", "_numerics", "model"},
    "data": {"_errors"},
    "results": {"_errors", "_files", "model", "theory", "data"},
    "analysis": {"_errors", "model", "theory", "results"},
    "train": {"_errors", "_files", "model", "theory", "data", "results", "analysis"},
    "factors": {"_errors", "_numerics", "model", "theory", "data", "results"},
    "plot": {"_errors", "model", "theory", "results", "analysis"},
    "cli": {"_errors", "_files", "model", "theory", "data", "results", "analysis", "train", "factors", "plot"},
    "__init__": {"_errors", "model", "theory", "data", "results", "analysis", "train", "factors"},
}
MAX_FUNCTION_LINES = 60
LONG_FUNCTIONS = {}  # "module:function": why it must be longer (none today)


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def part(path):
    rel = path.relative_to(PACKAGE).with_suffix("")
    return rel.parts[0]


def linvae_imports(path):
    """``(imported module, imported names, line)`` for every ``linvae`` import, function-level ones included."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "linvae":
            yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "linvae":
                    yield alias.name, [], node.lineno


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers_import_only_downward(path):
    own = part(path)
    for module, names, line in linvae_imports(path):
        targets = [module.split(".")[1]] if module.count(".") else names  # `from linvae import data, theory`
        for target in targets:
            if target in (own, "_version"):  # the version string may be read anywhere
                continue
            assert target in ALLOWED[own], f"{path.relative_to(ROOT)}:{line}: {own} must not import linvae.{target}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_use_public_names(path):
    """Across subpackages only the subpackage's public names; within one, its private modules but no private names
    (a private name is one starting with ``_``; private modules of one's own subpackage may be imported)."""
    own = part(path)
    for module, names, line in linvae_imports(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        pieces = module.split(".")
        if len(pieces) > 1 and pieces[1] != own and pieces[1] not in ("_errors", "_files", "_numerics", "_version"):
            assert not any(p.startswith("_") for p in pieces[2:]), f"{where}: imports private module {module}"
        for name in names:
            own_module = module == f"linvae.{own}" and (PACKAGE / own / f"{name}.py").exists()
            dunder = name.startswith("__") and name.endswith("__")  # __version__
            assert not name.startswith("_") or own_module or dunder, f"{where}: private name {name} from {module}"


def import_graph():
    graph = {}
    for path in modules():
        name = ".".join(("linvae",) + path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text())
        deps = set()
        for node in tree.body:  # module level: what runs at import time
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("linvae"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("linvae"))
        graph[name] = deps
    return {name: {d for d in deps if d in graph and d != name} for name, deps in graph.items()}


def test_no_import_cycles_between_modules():
    """No cycle among the package's modules at import time (a package's ``__init__`` importing its own private
    modules is the only edge allowed back up)."""
    graph = import_graph()
    for name, deps in graph.items():  # a private module importing its own package's __init__ is a cycle
        graph[name] = {d for d in deps if not (name.startswith(d + ".") and graph.get(d))}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for dep in graph[node]:
            if state.get(dep) == "open":
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize("init", sorted(PACKAGE.glob("*/__init__.py")), ids=lambda p: p.parent.name)
def test_subpackage_init_fits_on_a_screen(init):
    text = init.read_text()
    tree = ast.parse(text)
    targets = lambda n: getattr(n, "targets", [getattr(n, "target", None)])  # noqa: E731
    assigns = [n for n in tree.body if isinstance(n, (ast.Assign, ast.AugAssign))
               and any(getattr(t, "id", None) == "__all__" for t in targets(n))]
    assert len(text.splitlines()) <= 60, f"{init.parent.name}/__init__.py has {len(text.splitlines())} lines"
    assert len(assigns) == 1 and isinstance(assigns[0], ast.Assign), "one __all__, assigned once"
    module = __import__(f"linvae.{init.parent.name}", fromlist=["__all__"])
    assert all(hasattr(module, name) for name in module.__all__)


def test_no_function_longer_than_a_screen():
    long = {}
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                key = f"{path.relative_to(PACKAGE)}:{node.name}"
                if n > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                    long[key] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (docstring included): {long}"


def test_import_linvae_loads_no_plotting_and_sets_no_backend():
    code = ("import sys, linvae; assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
            "assert not any(m.startswith('linvae.plot') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
    for path in modules():
        assert "matplotlib.use(" not in path.read_text() or path.name == "cli.py", path


def test_ruff_passes():
    ruff = shutil.which("ruff", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the 'test' extra)")
    out = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]


def test_the_documented_layout_lists_every_module():
    """docs/reference/index.md draws the folder tree with a line per module: no module is missing from it."""
    tree = (ROOT / "docs" / "reference" / "index.md").read_text()
    missing = [str(path.relative_to(PACKAGE)) for path in modules()
               if path.name not in ("__init__.py", "_version.py") and f" {path.name} " not in tree]
    assert not missing, f"add these modules to the layout tree of docs/reference/index.md: {missing}"
