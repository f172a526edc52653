"""Writing the publication: dumps, JSON-LD, the dataset description, atomic output, verify."""
