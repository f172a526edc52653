"""Asking the graph: the query catalogue, binding, local and remote engines, tables."""
