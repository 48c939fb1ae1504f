"""The code fingerprint: a hash of the code that can change a run's numbers.

Scope: the `.py` files under `data/`, `models/`, `training/` and `probes/` and the registry
mechanism, less those that only print or log (`NUMBERLESS`); analysis, report, CLI, configs
(keyed field by field) and docs are out. Inside the scope, a registry entry counts only for
the runs that select it:

- an *entry* is a top-level `REG.register("name")(obj)` statement or a top-level def
  decorated with `@REG.register("name")`, where `REG = Registry("kind")`;
- a top-level class or function that only entries use (a class registered by name, a helper
  an entry calls) belongs to the entries that use it, directly or through other helpers;
- everything else is *shared*: the registry mechanism, the module-level code of a registry
  module, and any def that shared code uses or another scoped module imports or reaches
  as an attribute.

A run's fingerprint hashes the shared code, the entries its config selects (`choices`:
kind -> name, or None where the kind is moot for the run), every entry of a kind it does not
name, the torch version and the device type. So a new activation leaves every run that does
not use it valid, while an edit to the training loop or to a helper that shared code uses
changes every key. Blank lines are not hashed; comments are, where they sit.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

PACKAGE = Path(__file__).resolve().parents[1]  # src/ablate, wherever it is imported from
SCOPE = ("data", "models", "training", "probes")
MECHANISM = ("registry.py",)  # the registry mechanism every entry goes through
NUMBERLESS = {"training/progress.py", "training/tracking.py"}  # progress lines, W&B logging

Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True)
class Scan:
    """The scoped code split in two: the shared digest, and each entry's own source."""

    shared: str  # hex digest of every scoped file less its entries and their helpers
    entries: Mapping[tuple[str, str], str]  # (kind, name) -> the entry's source and helpers'

    def kinds(self) -> set[str]:
        return {kind for kind, _ in self.entries}


def source_files(package: Path = PACKAGE) -> list[Path]:
    """The files the fingerprint reads, sorted by their path inside the package."""
    files = [f for folder in SCOPE for f in (package / folder).rglob("*.py")]
    files += [package / name for name in MECHANISM if (package / name).is_file()]
    return sorted(
        (f for f in files if f.relative_to(package).as_posix() not in NUMBERLESS),
        key=lambda f: f.relative_to(package).as_posix(),
    )


def _registry_kinds(trees: Iterable[ast.Module]) -> dict[str, str]:
    """Variable name -> kind, for every top-level `NAME = Registry("kind")`."""
    kinds: dict[str, str] = {}
    for tree in trees:
        for node in tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if isinstance(node, ast.AnnAssign):
                target = node.target
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "Registry"
                and value.args
                and isinstance(value.args[0], ast.Constant)
            ):
                kinds[target.id] = str(value.args[0].value)
    return kinds


def _register_call(node: ast.expr, kinds: Mapping[str, str]) -> tuple[str, str] | None:
    """(kind, name) when `node` is `REG.register("name")` for a known registry REG."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "register"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in kinds
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return kinds[node.func.value.id], node.args[0].value
    return None


def _entry(node: ast.stmt, kinds: Mapping[str, str]) -> tuple[str, str] | None:
    """(kind, name) when the top-level statement `node` registers an entry."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return _register_call(node.value.func, kinds)
    if isinstance(node, Def) and len(node.decorator_list) == 1:
        return _register_call(node.decorator_list[0], kinds)
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _lines(node: ast.stmt) -> range:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    assert node.end_lineno is not None
    return range(first - 1, node.end_lineno)


def _split(
    text: str, tree: ast.Module, kinds: Mapping[str, str], imported: set[str]
) -> tuple[str, dict[tuple[str, str], str]]:
    """One module's shared text and its entries' texts (see the module docstring)."""
    lines = text.splitlines()
    entries = {node: key for node in tree.body if (key := _entry(node, kinds))}
    defs = {n.name: n for n in tree.body if isinstance(n, Def) and n not in entries}
    # Helpers: defs that entries reach; a def that shared code uses or that another module
    # imports is shared, and so is what it uses in turn.
    helpers = set(defs) - imported

    def reach(node: ast.stmt) -> list[ast.stmt]:
        found: list[ast.stmt] = []
        todo = [node]
        while todo:
            for name in sorted(_names(todo.pop()) & helpers):
                if defs[name] not in found:
                    found.append(defs[name])
                    todo.append(defs[name])
        return found

    while True:
        reached = {n.name for node in entries for n in reach(node) if isinstance(n, Def)}
        shared_nodes = [
            n
            for n in tree.body
            if n not in entries and not (isinstance(n, Def) and n.name in helpers & reached)
        ]
        used = set().union(*(_names(n) for n in shared_nodes))
        keep = (helpers & reached) - used
        if keep == helpers:
            break
        helpers = keep

    own: dict[tuple[str, str], str] = {}
    taken: set[int] = set()
    for node, key in entries.items():
        parts = sorted([node, *reach(node)], key=lambda n: n.lineno)
        spans = [i for part in parts for i in _lines(part)]
        taken.update(spans)
        own[key] = "\n".join(lines[i] for i in spans if lines[i].strip())
    shared = "\n".join(line for i, line in enumerate(lines) if i not in taken and line.strip())
    return shared, own


@functools.cache
def scan(package: Path = PACKAGE) -> Scan:
    """Read and split the scoped source once per process: the sweep snapshots it at its
    start, so the keys it computes are those its workers compute."""
    files = source_files(package)
    texts = {f.relative_to(package).as_posix(): f.read_text() for f in files}
    trees = {rel: ast.parse(text, filename=rel) for rel, text in texts.items()}
    kinds = _registry_kinds(trees.values())
    # Names other modules reach into (`from m import X`, `m.X`): a def by such a name is shared.
    imported = {
        name
        for tree in trees.values()
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
        )
        + ([node.attr] if isinstance(node, ast.Attribute) else [])
    }
    digest = hashlib.sha256()
    entries: dict[tuple[str, str], str] = {}
    for rel, text in texts.items():
        shared, own = _split(text, trees[rel], kinds, imported)
        digest.update(f"{rel}\0{shared}\0".encode())
        entries.update({key: f"{rel}\0{body}" for key, body in own.items()})
    return Scan(digest.hexdigest(), entries)


@functools.cache
def _fingerprint(device: str, choices: tuple[tuple[str, str | None], ...], package: Path) -> str:
    found = scan(package)
    chosen = dict(choices)
    digest = hashlib.sha256(found.shared.encode())
    for (kind, name), body in sorted(found.entries.items()):
        if kind not in chosen or chosen[kind] == name:
            digest.update(f"\0{kind}\0{name}\0{body}".encode())
    for kind, name in choices:  # a chosen name that is not registered fails the run anyway
        digest.update(f"\0chose\0{kind}\0{name}".encode())
    digest.update(f"torch={torch.__version__};device={device}".encode())
    return digest.hexdigest()[:12]


def code_fingerprint(
    device: str, choices: Mapping[str, str | None] | None = None, package: Path = PACKAGE
) -> str:
    """A 12-hex fingerprint of the shared scoped source, the registry entries `choices`
    selects (kind -> name; None: the run uses no entry of that kind; a kind left out: all
    its entries count), torch's version and `device` (cpu | cuda)."""
    return _fingerprint(device, tuple(sorted((choices or {}).items())), package)


def clear_cache() -> None:
    """Forget the snapshot (tests that edit the source between fingerprints)."""
    scan.cache_clear()
    _fingerprint.cache_clear()


def device_type(accelerator: str) -> str:
    """The device a run trains on: `cuda` only when a GPU is asked for and present."""
    return "cuda" if accelerator in ("gpu", "cuda") and torch.cuda.is_available() else "cpu"


@functools.cache
def git_state(cwd: str = ".") -> str:
    """The commit a run was trained at, exact: `<sha>` or `<sha>+<n> changed` where n files
    under the fingerprint's scope differ from that commit; `unknown` outside git."""
    try:
        sha = _git(cwd, "rev-parse", "--short=10", "HEAD")
        scoped = [str(PACKAGE / folder) for folder in SCOPE]
        changed = _git(cwd, "status", "--porcelain", "--untracked-files=no", "--", *scoped)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    count = len(changed.splitlines())
    return f"{sha}+{count} changed" if count else sha


def _git(cwd: str, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()
