"""DESIGN.md's import direction: `cli -> pipelines -> platform, modalities`; `modalities -> platform`.

Every import counts, also one inside a function or under TYPE_CHECKING: a lazy import is still a
dependency, and the layer below must stay importable without the one above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

LAYERS = ("platform", "pipelines", "modalities")


def _package(relative: Path) -> str:
    """The dotted package a file under a layer folder belongs to, e.g. ganforge.modalities.image."""
    parts = relative.with_suffix("").parts
    parts = parts if relative.name == "__init__.py" else parts[:-1]
    return ".".join(("ganforge", *(p for p in parts if p != "__init__")))


def imported_modules(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every import in `source`, relative ones resolved against `package`.

    `from A import B` yields both A and A.B: B may be a submodule (`from ganforge import pipelines`).
    A constant string given to `importlib.import_module` or `__import__` counts too.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                yield node.lineno, str(first.value)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(f"{prefix}.")


def forbidden(relative: Path, module: str) -> str | None:
    """Why the file at `relative` (a path under the repository root) may not import `module`."""
    layer = relative.parts[0]
    if layer == "platform":
        for above in ("ganforge.pipelines", "ganforge.modalities"):
            if _within(module, above):
                return f"platform imports {above} (it finds modalities through the registry)"
    if layer == "modalities":
        own = f"ganforge.modalities.{relative.parts[1]}" if len(relative.parts) > 2 else None
        if _within(module, "ganforge.pipelines"):
            return "a modality imports ganforge.pipelines"
        other = own is None or not _within(module, own)
        if _within(module, "ganforge.modalities") and module != "ganforge.modalities" and other:
            return "a modality imports another modality"
        if _within(module, "ganforge.platform.tracking"):
            return "a modality imports ganforge.platform.tracking (MLflow in data loading)"
    if relative.parts[:2] != ("pipelines", "cli") and _within(module, "ganforge.pipelines.cli"):
        return "only the CLI imports ganforge.pipelines.cli: it sits on top of the pipelines"
    return None


def violations(relative: Path, source: str) -> list[str]:
    """One 'file:line: import X: why' line per import the direction forbids."""
    first: dict[tuple[int, str], str] = {}  # `from A import B` names A before A.B: report A alone
    for line, module in imported_modules(source, _package(relative)):
        reason = forbidden(relative, module)
        if reason:
            first.setdefault((line, reason), module)
    return [f"{relative}:{line}: import {module}: {why}" for (line, why), module in sorted(first.items())]


def _layer_files() -> Iterator[Path]:
    for layer in LAYERS:
        yield from sorted((REPO / layer).rglob("*.py"))


def test_every_import_points_down() -> None:
    files = list(_layer_files())
    assert len(files) > 50  # the walk does find the code
    found = [v for path in files for v in violations(path.relative_to(REPO), path.read_text())]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("platform/runners/x.py", "import ganforge.pipelines.train", "platform imports ganforge.pipelines"),
        (
            "platform/runners/x.py",
            "def f():\n    from ganforge.modalities.toy import MODALITY",
            "x.py:2: import ganforge.modalities.toy",
        ),
        (
            "platform/gan/x.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ganforge import modalities",
            "x.py:3: import ganforge.modalities",
        ),
        ("platform/x.py", "importlib.import_module('ganforge.pipelines.sweep')", "ganforge.pipelines"),
        ("modalities/image/x.py", "from ganforge.pipelines.train import job", "imports ganforge.pipelines"),
        ("modalities/image/x.py", "from ganforge.modalities.audio import nets", "another modality"),
        ("modalities/image/x.py", "from ..audio import nets", "import ganforge.modalities.audio"),
        ("modalities/image/x.py", "from ganforge.platform.tracking.store import x", "platform.tracking"),
        ("pipelines/train/x.py", "from ganforge.pipelines.cli.progress import Bar", "only the CLI"),
    ],
)
def test_a_wrong_way_import_is_named(path: str, source: str, expected: str) -> None:
    found = violations(Path(path), source)
    assert len(found) >= 1 and any(expected in line for line in found), found
    assert all(line.startswith(f"{path}:") for line in found)


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("modalities/image/x.py", "from ganforge.modalities.image.config import ImageData"),
        ("modalities/image/x.py", "from . import config\nfrom .nets import Generator"),
        ("modalities/image/x.py", "from ganforge.platform.home import ganforge_home"),
        ("pipelines/cli/x.py", "from ganforge.pipelines.cli.errors import user_errors"),
        ("pipelines/train/x.py", "from ganforge.modalities.toy import MODALITY"),
        ("platform/modality/registry.py", "GROUP = 'ganforge.modalities'"),
    ],
)
def test_a_downward_import_is_allowed(path: str, source: str) -> None:
    assert violations(Path(path), source) == []
