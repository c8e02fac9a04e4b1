"""Networks: Linux bridges, veth pairs, IPAM, port publishing and name files (see manager.Networks)."""
