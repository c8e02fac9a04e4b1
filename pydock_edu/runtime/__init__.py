"""The container runtime: namespaces, the root filesystem, cgroups, the shim, exec."""
