"""Building images from a Dockerfile: the parser and the builder."""
