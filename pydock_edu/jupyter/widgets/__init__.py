"""Pictures of what the engine did, drawn with graphviz: static (SVG and text) or live (ipywidgets).

- :class:`.layers.Layers`: an image's layer stack; a container's writable layer and merged view.
- :class:`.network.Topology`: bridges, veth pairs, addresses, published ports, the network modes.
- :class:`.mounts.Mounts`: a container's volumes, bind mounts and tmpfs, and who shares them.
- :class:`.lifecycle.Lifecycle`: the container state diagram with the current state lit.
"""
