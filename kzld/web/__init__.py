"""Serving and rendering: the server, its SPARQL workers, the static site, the timeline."""
