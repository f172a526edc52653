"""Reading RDF: formats, the one load path, the bundled resources and the network guards."""
