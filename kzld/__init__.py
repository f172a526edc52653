"""kzld: a linked-data publication toolkit for the reshuffle of Kazakhstan's military leadership."""

__version__ = "0.1.0"

__all__ = ["__version__"]
