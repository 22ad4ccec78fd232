"""The version of linvae: one place, read by the package and by the build (pyproject.toml)."""

__version__ = "0.2.0"
