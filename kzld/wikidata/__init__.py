"""Wikidata: the export, QuickStatements, reconciliation and the diff."""
