"""Volumes: named and anonymous volumes (host directories), bind mounts and tmpfs (see store.Volumes)."""
