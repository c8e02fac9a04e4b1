"""The firewall: NAT and forwarding rules for pydock's bridges, made with the ``iptables`` command.

Every rule lives in pydock's own chains, entered by one jump rule from each built-in chain::

    nat    PREROUTING  -m addrtype --dst-type LOCAL -j PYDOCK    published ports (DNAT), see ports.py
    nat    OUTPUT      -m addrtype --dst-type LOCAL -j PYDOCK    the same for connections made on the host
    nat    POSTROUTING -j PYDOCK-POSTROUTING                     masquerade (source NAT)
    filter FORWARD     -j PYDOCK-FORWARD   (inserted first)      what may cross the bridges
           PYDOCK-FORWARD -i BR ! -o BR -j PYDOCK-ISOLATION      no traffic between two pydock networks

so removing pydock's rules is exact and never touches anyone else's. Where Docker runs too, its
``FORWARD`` policy is DROP; the jump to ``PYDOCK-FORWARD`` is inserted ahead of Docker's rules, and
Docker's own chains only match Docker's bridges, so pydock's traffic is accepted whichever of the
two inserted its jump last. On Debian ``iptables`` is iptables-nft: the same rules become nftables
rules in the ``ip nat`` and ``ip filter`` tables, next to Docker's.
"""


from .. import explain
from ..errors import PydockError

DNAT_CHAIN = "PYDOCK"
POSTROUTING_CHAIN = "PYDOCK-POSTROUTING"
FORWARD_CHAIN = "PYDOCK-FORWARD"
ISOLATION_CHAIN = "PYDOCK-ISOLATION"

CHAINS = [
    ("nat", DNAT_CHAIN),
    ("nat", POSTROUTING_CHAIN),
    ("filter", FORWARD_CHAIN),
    ("filter", ISOLATION_CHAIN),
]
LOCAL = ["-m", "addrtype", "--dst-type", "LOCAL"]
JUMPS = [  # (table, built-in chain, rule, insert first?)
    ("nat", "PREROUTING", LOCAL + ["-j", DNAT_CHAIN], False),
    ("nat", "OUTPUT", LOCAL + ["-j", DNAT_CHAIN], False),
    ("nat", "POSTROUTING", ["-j", POSTROUTING_CHAIN], False),
    ("filter", "FORWARD", ["-j", FORWARD_CHAIN], True),
]


def add_network(bridge, subnet, internal):
    """Add the rules of one bridge network (creating pydock's chains and jumps on first use)."""
    _ensure_chains()
    for table, chain, rule, first in network_rules(bridge, subnet, internal):
        _add(table, chain, rule, first)


def remove_network(bridge, subnet, internal):
    for table, chain, rule, _ in network_rules(bridge, subnet, internal):
        _delete(table, chain, rule)


def network_rules(bridge, subnet, internal):
    """The rules of one network: ``(table, chain, rule, insert first?)``.

    Isolation: traffic entering from this bridge that leaves by another interface visits
    ``PYDOCK-ISOLATION``, which drops it if that interface is another pydock bridge. Then either
    (normal) containers may go anywhere, replies and published ports may come back in, and
    their source address is masqueraded behind the host's when leaving by another interface; or
    (``--internal``) nothing but bridge-local traffic passes.
    """
    rules = [
        ("filter", FORWARD_CHAIN, ["-i", bridge, "!", "-o", bridge, "-j", ISOLATION_CHAIN], True),
        ("filter", ISOLATION_CHAIN, ["-o", bridge, "-j", "DROP"], False),
    ]
    if internal:
        return rules + [
            ("filter", FORWARD_CHAIN, ["-i", bridge, "-o", bridge, "-j", "ACCEPT"], False),
            ("filter", FORWARD_CHAIN, ["-i", bridge, "-j", "DROP"], False),
            ("filter", FORWARD_CHAIN, ["-o", bridge, "-j", "DROP"], False),
        ]
    return rules + [
        ("filter", FORWARD_CHAIN, ["-i", bridge, "-j", "ACCEPT"], False),
        ("filter", FORWARD_CHAIN,
         ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "ACCEPT"], False),
        ("nat", POSTROUTING_CHAIN, ["-s", subnet, "!", "-o", bridge, "-j", "MASQUERADE"], False),
        # Connections to 127.0.0.1:hostPort, DNATed to a container, leave with a routable source.
        ("nat", POSTROUTING_CHAIN, ["-s", "127.0.0.0/8", "-o", bridge, "-j", "MASQUERADE"], False),
    ]


def port_rule(bridge, container_ip, mapping):
    """The DNAT rule publishing one port: host ``HostIp:HostPort`` -> ``container_ip:ContainerPort``.

    ``! -i BRIDGE``: a container talking to a published port of its own network is not redirected.
    """
    rule = ["-p", mapping["Proto"]]
    if mapping["HostIp"] != "0.0.0.0":
        rule += ["-d", mapping["HostIp"]]
    rule += ["--dport", str(mapping["HostPort"]), "!", "-i", bridge,
             "-j", "DNAT", "--to-destination", f"{container_ip}:{mapping['ContainerPort']}"]
    return rule


def add_port(bridge, container_ip, mapping):
    _add("nat", DNAT_CHAIN, port_rule(bridge, container_ip, mapping), False)


def remove_port(bridge, container_ip, mapping):
    _delete("nat", DNAT_CHAIN, port_rule(bridge, container_ip, mapping))


def teardown_all():
    """Remove the jumps to pydock's chains, then the chains themselves (``-F`` and ``-X``)."""
    for table, chain, rule, _ in JUMPS:
        _delete(table, chain, rule)
    for table, chain in CHAINS:
        if _chain_exists(table, chain):
            _run("-t", table, "-F", chain)
            _run("-t", table, "-X", chain)


def _ensure_chains():
    for table, chain in CHAINS:
        if not _chain_exists(table, chain):
            _run("-t", table, "-N", chain)
    for table, chain, rule, first in JUMPS:
        _add(table, chain, rule, first)


def _add(table, chain, rule, first):
    if not _rule_exists(table, chain, rule):
        if first:
            _run("-t", table, "-I", chain, "1", *rule)
        else:
            _run("-t", table, "-A", chain, *rule)


def _delete(table, chain, rule):
    if _rule_exists(table, chain, rule):
        _run("-t", table, "-D", chain, *rule)


def _rule_exists(table, chain, rule):
    """``iptables -C``: a question, not a change, so it is not traced."""
    return _iptables("-t", table, "-C", chain, *rule).returncode == 0


def _chain_exists(table, chain):
    return _iptables("-t", table, "-S", chain).returncode == 0


def _run(*args):
    """Make one change to the firewall, reporting it first."""
    explain.step("iptables", " ".join(["iptables", "-w", *args]))
    result = _iptables(*args)
    if result.returncode != 0:
        import shlex

        raise PydockError(f"iptables {shlex.join(args)} failed: {result.stderr.strip()}")


def _iptables(*args):
    """Run ``iptables -w`` (wait for the xtables lock rather than fail)."""
    import subprocess

    try:
        return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise PydockError("iptables is not installed: pydock needs it for bridge networks") from None
