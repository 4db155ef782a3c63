"""The shape of ``src/``: no import loops, and the layers only look down.

Every ``import`` that runs counts, including those inside functions (a loop hidden in a
function body is still a loop), and importing ``a.b.c`` also runs ``a`` and ``a.b``. Imports
under ``if TYPE_CHECKING:`` never run and are left out. The rules:
- ``core/`` imports nothing from ``web/``, ``storage/``, ``compose``, the command line or the demo;
- ``storage/`` imports nothing from ``web/``, ``compose`` or the command line;
- ``web/`` never imports the composition root, the command line or the demo (``asgi.py``, above
  both, joins them);
- the command line's account and application commands never load Starlette.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "leadexec_signin"
ROOT = "leadexec_signin"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.parts  # Alembic loads these by path, not by import
    }


def type_checking_only(tree: ast.AST) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:`` (they never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped |= {id(n) for n in ast.walk(inner)}
    return skipped


def imports_of(path: Path, name: str, known: set[str], text: str | None = None) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text() if text is None else text)
    skipped = type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import mod" names the module pkg.mod when there is one.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        found |= {t for t in targets if t.split(".")[0] == ROOT}
    return found


def with_ancestors(target: str, known: set[str]) -> set[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first."""
    parts = target.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known


@functools.cache
def real_graph() -> dict[str, set[str]]:
    """The graph of ``src/``, read once per process (every layer's test reads it)."""
    return import_graph({name: (path, None) for name, path in modules().items()})


def import_graph(sources: dict[str, tuple[Path, str | None]] | None = None) -> dict[str, set[str]]:
    """``sources`` (name -> path, text) replaces the real tree, for the tests of this test."""
    if sources is None:
        return real_graph()
    found = sources
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, (path, text) in found.items():
        edges = set()
        for target in imports_of(path, name, known, text):
            # An import of a name inside a module is an edge to that module.
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            edges |= with_ancestors(target, known)
        graph[name] = edges - {name} - with_ancestors(name, known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read_from_the_code() -> None:
    graph = import_graph()
    # Control: the walk sees real edges, so an empty answer below means something.
    assert "leadexec_signin.web.app" in graph["leadexec_signin.asgi"]
    assert "leadexec_signin.core.actions.signin" in graph["leadexec_signin.compose"]
    assert len(graph) > 60


def test_loops_through_functions_relative_imports_and_packages_are_found() -> None:
    """The reader itself, on a made-up tree: a loop closed by an import inside a function,
    one through a relative import, and one through a package's ``__init__``."""
    fake = Path("/nowhere/leadexec_signin")

    def tree(files: dict[str, str]) -> dict[str, tuple[Path, str | None]]:
        return {
            name: (fake / (name.replace(".", "/") + ("/__init__.py" if kind else ".py")), text)
            for (name, kind), text in files.items()
        }  # type: ignore[misc]

    in_function = tree({
        ("leadexec_signin.a", False): "import leadexec_signin.b\n",
        ("leadexec_signin.b", False): "def f():\n    from leadexec_signin import a\n",
    })  # fmt: skip
    assert cycles(import_graph(in_function)) == [["leadexec_signin.a", "leadexec_signin.b"]]
    relative = tree({
        ("leadexec_signin.p", True): "",
        ("leadexec_signin.p.x", False): "from . import y\n",
        ("leadexec_signin.p.y", False): "from .x import thing\n",
    })  # fmt: skip
    assert cycles(import_graph(relative)) == [["leadexec_signin.p.x", "leadexec_signin.p.y"]]
    through_init = tree({
        ("leadexec_signin.q", True): "from leadexec_signin.q.m import thing\n",
        ("leadexec_signin.q.m", False): "import leadexec_signin.r\n",
        ("leadexec_signin.r", False): "from leadexec_signin.q import other\n",
    })  # fmt: skip
    assert cycles(import_graph(through_init)) == [
        ["leadexec_signin.q", "leadexec_signin.q.m", "leadexec_signin.r"]
    ]
    type_only = tree({
        ("leadexec_signin.s", False): "import leadexec_signin.t\n",
        ("leadexec_signin.t", False): (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import leadexec_signin.s\n"
        ),
    })  # fmt: skip
    assert cycles(import_graph(type_only)) == []


def test_there_is_no_import_loop() -> None:
    assert cycles(import_graph()) == []


def test_a_loop_would_be_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


FORBIDDEN = [
    ("leadexec_signin.core", ("leadexec_signin.web", "leadexec_signin.storage",
                              "leadexec_signin.compose", "leadexec_signin.cli",
                              "leadexec_signin.demo")),
    ("leadexec_signin.storage", ("leadexec_signin.web", "leadexec_signin.cli",
                                 "leadexec_signin.compose", "leadexec_signin.demo",
                                 "leadexec_signin.background", "leadexec_signin.asgi")),
    ("leadexec_signin.web", ("leadexec_signin.compose", "leadexec_signin.cli",
                             "leadexec_signin.demo", "leadexec_signin.asgi")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("layer", "never"), FORBIDDEN, ids=["core looks at nothing above it",
                                       "storage never reaches the web",
                                       "the web never reaches the command line"]
)  # fmt: skip
def test_each_layer_only_imports_downwards(layer: str, never: tuple[str, ...]) -> None:
    graph = import_graph()
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if source == layer or source.startswith(layer + ".")
        for target in targets
        if any(target == n or target.startswith(n + ".") for n in never)
    )
    assert wrong == []


def last_line_of_a_fresh_interpreter(script: str, tmp_path: Path, stdin: str = "") -> str:
    """What ``script`` prints last, run by a new Python on an SQLite file of its own: the
    modules it imports are the ones a real process would."""
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(tmp_path / "data"),
        "LEADEXEC_DATABASE_URL": "",
        "LEADEXEC_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow  # the command line in a subprocess
def test_creating_a_user_from_the_command_line_never_loads_starlette(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from leadexec_signin.cli import main\n"
        "code = main(['users', 'create', '--email', 'cli@example.com', '--name', 'Cli',"
        " '--json'])\n"
        "code |= main(['apps', 'create', '--name', 'A', '--origin', 'https://a.example',"
        " '--scopes', 'profile', '--json'])\n"
        "code |= main(['apps', 'list', '--json'])\n"
        "code |= main(['migrate', '--json'])\n"
        "print('STARLETTE' if 'starlette' in sys.modules else 'NO-STARLETTE', code)\n"
    )
    last = last_line_of_a_fresh_interpreter(script, tmp_path, "a long enough password\n")
    assert last == "NO-STARLETTE 0"


@pytest.mark.slow  # a fresh interpreter in a subprocess
def test_a_server_starts_without_the_mcp_and_scim_libraries(tmp_path: Path) -> None:
    """They are half of a process's start-up and are imported at the first /mcp or /scim/v2
    request; the first of each is still answered (tests/web/test_mcp.py, test_scim.py)."""
    script = (
        "import sys\n"
        "from leadexec_signin.compose import build\n"
        "from leadexec_signin.settings import Settings\n"
        "from leadexec_signin.web.app import create_app\n"
        "services = build(Settings.from_env())\n"
        "create_app(services)\n"
        "services.close()\n"
        "print(sorted(m for m in ('mcp', 'scim2_models') if m in sys.modules))\n"
    )
    assert last_line_of_a_fresh_interpreter(script, tmp_path) == "[]"
