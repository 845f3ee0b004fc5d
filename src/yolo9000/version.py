"""The package version (one place: the package and the User-Agent of downloads read it)."""
__version__ = "0.1.0"
