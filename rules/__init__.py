"""The rule catalog: ``<area>/<id>.yaml`` rules with their ``<id>.cases.yaml`` cases.

This folder is the top-level ``rules/`` of the repository, installed as the package
``regdoctor.rules`` (``package-dir`` in ``pyproject.toml``), so that a wheel, an sdist, an
editable install and ``pipx install`` all carry it. Code reaches it through
:data:`regdoctor.engine.loader.BUNDLED_RULES_DIR`, never through a path of its own.
"""
