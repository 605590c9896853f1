"""The layout rules of DESIGN.md: layers are namespace folders, imported only as ganforge.*."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO

LAYERS = ("platform", "pipelines", "modalities")


def test_stdlib_platform_is_not_shadowed_from_repo_root() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system())"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_layer_folders_have_no_init() -> None:
    for layer in LAYERS:
        assert (REPO / layer).is_dir()
        assert not (REPO / layer / "__init__.py").exists(), f"{layer}/__init__.py shadows"


def test_no_code_imports_layers_by_bare_name() -> None:
    bare = re.compile(rf"^\s*(from|import)\s+({'|'.join(LAYERS)})(\.|\s|$)", re.M)
    offenders = []
    for path in REPO.rglob("*.py"):
        if ".venv" in path.parts or "build" in path.parts:
            continue
        for match in bare.finditer(path.read_text()):
            line = match.group(0).strip()
            # `import platform` alone is the standard library; a layer import has a dot after it.
            if line == "import platform":
                continue
            offenders.append(f"{path.relative_to(REPO)}: {line}")
    assert offenders == []


def test_layers_import_as_ganforge_packages() -> None:
    import ganforge.modalities.toy
    import ganforge.pipelines.train
    import ganforge.platform.config

    assert ganforge.platform.config.__file__.startswith(str(REPO / "platform"))
    assert ganforge.pipelines.train.__file__.startswith(str(REPO / "pipelines"))
    assert ganforge.modalities.toy.__file__.startswith(str(REPO / "modalities"))
