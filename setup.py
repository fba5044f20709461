"""Package discovery, which pyproject.toml alone cannot express for this tree.

Every package under ``app/`` is found (a new one cannot be left out of the wheel), and the
two data packages that live outside it are mapped in: ``models/`` installs as
``app.catalog`` and ``resources/`` as ``app.resources``, so an installed wheel and a frozen
bundle find them the same way. setuptools' ``find`` directive in pyproject.toml cannot
combine with such mappings (it only finds packages under the folders it searches), hence
this file; everything else about the build lives in pyproject.toml.
"""

from setuptools import find_packages, setup

DATA_PACKAGES = {"app.catalog": "models", "app.resources": "resources"}

setup(
    packages=[*find_packages(include=["app", "app.*"]), *DATA_PACKAGES],
    package_dir=DATA_PACKAGES,
)
