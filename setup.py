"""The one thing pyproject.toml cannot say: the package list.

The rule catalog is the repository's top-level ``rules/`` folder, installed as the
package ``regdoctor.rules`` (``[tool.setuptools.package-dir]`` in pyproject.toml).
``packages.find`` only finds folders below ``regdoctor/``, so the list is the found
packages plus that one. Everything else lives in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["regdoctor", "regdoctor.*"]), "regdoctor.rules"])
