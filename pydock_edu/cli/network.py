"""Network commands: create, ls, inspect, rm, prune, connect, disconnect."""

from ..errors import PydockError
from .flags import flag
from .registry import command

LS_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Internal": "INTERNAL",
              "Labels": "LABELS", "CreatedAt": "CREATED"}
LS_DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


@command("network create", "[OPTIONS] NETWORK", "Create a network",
         [flag("-d, --driver", "str", default="bridge", help="Driver to manage the Network"),
          flag("--subnet", "list", help="Subnet in CIDR format that represents a network segment"),
          flag("--gateway", "list", help="IPv4 Gateway for the master subnet"),
          flag("--ip-range", "list", help="Allocate container ip from a sub-range"),
          flag("--internal", help="Restrict external access to the network"),
          flag("--label", "list", help="Set metadata on a network")], min_args=1, max_args=1)
def create(ctx, options, args):
    try:
        record = ctx.engine.networks.create(
            args[0], driver=options["driver"], subnet=_one(options["subnet"]), gateway=_one(options["gateway"]),
            ip_range=_one(options["ip_range"]), internal=options["internal"],
            labels=dict(label.partition("=")[::2] for label in options["label"]))
    except PydockError as e:
        raise PydockError(str(e), 1) from None  # an error of the engine, not of the command line
    ctx.out(record["Id"])


def _one(values):
    if len(values) > 1:
        raise PydockError("only one subnet, gateway and ip range per network are supported")
    return values[0] if values else None


@command("network ls", "[OPTIONS]", "List networks",
         [flag("-q, --quiet", help="Only display network IDs"), flag("--no-trunc", help="Do not truncate the output"),
          flag("-f, --filter", "list", help="Provide filter values (e.g. 'driver=bridge')"),
          flag("--format", "str", help="Format output using a custom template")],
         aliases=["network list"], max_args=0)
def ls(ctx, options, args):
    from .table import render_table

    rows = []
    for record in ctx.engine.networks.list():
        if not _matches(record, options["filter"]):
            continue
        rows.append({"ID": record["Id"] if options["no_trunc"] else record["Id"][:12], "Name": record["Name"],
                     "Driver": record["Driver"], "Scope": record["Scope"], "Internal": str(record["Internal"]).lower(),
                     "Labels": ",".join(f"{k}={v}" for k, v in (record.get("Labels") or {}).items()),
                     "CreatedAt": record["Created"]})
    if options["quiet"]:
        ctx.stdout.write("".join(row["ID"] + "\n" for row in rows))
        return 0
    ctx.stdout.write(render_table(rows, [], options["format"] or LS_DEFAULT, LS_HEADERS))


def _matches(record, filters):
    for text in filters:
        key, _, value = text.partition("=")
        if key == "driver" and record["Driver"] != value:
            return False
        if key == "name" and value not in record["Name"]:
            return False
        if key == "id" and not record["Id"].startswith(value):
            return False
        if key == "type" and (value == "builtin") != (record["Name"] in ("bridge", "host", "none")):
            return False
    return True


@command("network inspect", "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more "
         "networks", [flag("-f, --format", "str", help="Format output using a custom template")], min_args=1)
def inspect(ctx, options, args):
    from .container import print_inspect

    return print_inspect(ctx, args, ctx.engine.networks.get, options["format"])


@command("network rm", "NETWORK [NETWORK...]", "Remove one or more networks", aliases=["network remove"],
         min_args=1)
def rm(ctx, options, args):
    from .container import _each

    return _each(ctx, args, ctx.engine.networks.remove)


@command("network prune", "[OPTIONS]", "Remove all unused networks",
         [flag("-f, --force", help="Do not prompt for confirmation")], max_args=0)
def prune(ctx, options, args):
    if not options["force"]:  # docker/cli network/prune.go asks first, as every prune does
        ctx.stdout.write("WARNING! This will remove all custom networks not used by at least one container.\n"
                         "Are you sure you want to continue? [y/N] ")
        ctx.stdout.flush()
        if ctx.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    removed = ctx.engine.networks.prune()
    if removed:
        ctx.out("Deleted Networks:\n" + "\n".join(removed))


@command("network connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
         [flag("--ip", "str", help="IPv4 address (e.g., 172.30.100.104)"),
          flag("--alias", "list", help="Add network-scoped alias for the container")], min_args=2, max_args=2)
def connect(ctx, options, args):
    ctx.engine.connect_network(args[0], args[1], ip=options["ip"], aliases=options["alias"])


@command("network disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
         [flag("-f, --force", help="Force the container to disconnect from a network")], min_args=2, max_args=2)
def disconnect(ctx, options, args):
    ctx.engine.disconnect_network(args[0], args[1])
