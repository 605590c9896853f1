"""Path fields of configs: checked when the config loads, made absolute (Ray workers may run in
another working directory). One place for what every modality's user-file fields need."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator


def existing_file(*suffixes: str, what: str | None = None) -> Any:
    """A Path type that must name an existing file, with one of `suffixes` when given.

    `what` names the file in messages ("a TorchScript Inception file"); default from the suffixes.
    """
    expected = what or (f"a {' or '.join(suffixes)} file" if suffixes else "a file")

    def check(path: Path) -> Path:
        if path.is_dir():
            raise ValueError(f"is a directory, expected {expected}")
        if not path.is_file():
            raise ValueError("no such file")
        if suffixes and path.suffix.lower() not in suffixes:
            raise ValueError(f"expected {expected}")
        return path.resolve()

    return Annotated[Path, AfterValidator(check)]


def _existing_folder(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError("no such folder")
    return path.resolve()


def _existing_path(path: Path) -> Path:
    if not path.exists():
        raise ValueError("no such file or folder")
    return path.resolve()


ExistingFile = existing_file()
ExistingFolder = Annotated[Path, AfterValidator(_existing_folder)]
ExistingPath = Annotated[Path, AfterValidator(_existing_path)]
"""A file or a folder (e.g. images: a folder of PNGs or one `.npz`)."""
