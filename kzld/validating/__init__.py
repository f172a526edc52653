"""Checking the graph: shapes lint, the native SHACL engine and pySHACL, findings."""
