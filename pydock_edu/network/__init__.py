"""Networks: Linux bridges, veth pairs, IPAM, port publishing and name files (see manager.Networks)."""


def release_container(container_id, delete_links=True):
    """Free whatever a container still holds on any network: its addresses, port rules and veths.

    Safe to call for any container at any time (a half-started one, one whose record is gone): the
    network records are read first, and the network code is loaded only if one lists the container.
    """
    import os

    from .. import state

    directory = state.path("networks")
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        try:
            record = state.read_json(os.path.join(directory, name)) if name.endswith(".json") else None
        except ValueError:  # a damaged record: the network code reports it
            record = None
        if isinstance(record, dict) and container_id in (record.get("Endpoints") or {}):
            from .manager import Networks

            Networks().release(container_id, delete_links)
            return
