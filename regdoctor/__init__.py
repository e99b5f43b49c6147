"""regdoctor: diagnose why container images will not pull, and say how to fix it."""

__version__ = "0.1.0"
