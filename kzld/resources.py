"""Where the bundled ontology, shapes, queries and data live, in a wheel or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# A wheel carries the folders under kzld/_bundled; a checkout has them beside the package.
_ROOT = _PACKAGE / "_bundled" if (_PACKAGE / "_bundled").is_dir() else _PACKAGE.parent


def bundled(name: str) -> Path:
    """Path of a bundled folder: 'ontology', 'shapes', 'queries' or 'data'."""
    if name not in {"ontology", "shapes", "queries", "data"}:
        raise ValueError(name)
    return _ROOT / name


def default_data_paths() -> list[Path]:
    """What commands read when no --data is given: the ontology and the instance data."""
    return [bundled("ontology"), bundled("data")]
