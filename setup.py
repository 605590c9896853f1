"""Lists ganforge's packages: every sub-package of the three layer folders, under `ganforge.`.

pyproject.toml maps `ganforge.<layer>` onto each root folder; setuptools' own package finder
would name them `platform.*` instead, so the names are built here.
"""

from setuptools import find_namespace_packages, setup

LAYERS = ("platform", "pipelines", "modalities")

packages = [
    f"ganforge.{name}" for layer in LAYERS for name in find_namespace_packages(include=[layer, f"{layer}.*"])
]
setup(packages=packages)
