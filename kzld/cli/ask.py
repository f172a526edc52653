"""Commands of this group (to be written)."""

from __future__ import annotations
