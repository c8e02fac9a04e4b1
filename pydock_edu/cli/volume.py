"""Volume commands: create, ls, inspect, rm, prune."""

from ..errors import InvalidArgument, PydockError
from .flags import flag
from .registry import command

LS_HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
              "Labels": "LABELS", "CreatedAt": "CREATED AT", "Links": "LINKS", "Size": "SIZE"}
LS_DEFAULT = "table {{.Driver}}\t{{.Name}}"
PRUNE_WARNING = {False: "WARNING! This will remove anonymous local volumes not used by at least one container.",
                 True: "WARNING! This will remove all local volumes not used by at least one container."}


@command("volume create", "[OPTIONS] [VOLUME]", "Create a volume",
         [flag("-d, --driver", "str", default="local", help="Specify volume driver name"),
          flag("--name", "str", help="Specify volume name"),
          flag("-l, --label", "list", help="Set metadata for a volume"),
          flag("-o, --opt", "list", help="Set driver specific options")], max_args=1)
def create(ctx, options, args):
    name = options["name"]
    if args and name and args[0] != name:
        raise InvalidArgument("conflicting options: either specify --name or provide positional arg, not both")
    name = name or (args[0] if args else None)
    labels = dict(_pair(text) for text in options["label"])
    driver_options = dict(_pair(text) for text in options["opt"])
    volume = ctx.engine.volumes.create(name, options["driver"], labels, driver_options)
    ctx.out(volume["Name"])


def _pair(text):
    key, _, value = text.partition("=")
    return key, value


def volume_row(volume):
    """A ``volume ls`` row: the inspect fields, labels as ``k=v,...``; links and size are not counted."""
    return dict(volume, Labels=",".join(f"{k}={v}" for k, v in (volume["Labels"] or {}).items()),
                Links="N/A", Size="N/A")


@command("volume ls", "[OPTIONS]", "List volumes",
         [flag("-q, --quiet", help="Only display volume names"),
          flag("-f, --filter", "list", help="Provide filter values (e.g. 'dangling=true')"),
          flag("--format", "str", help="Format output using a custom template")],
         aliases=["volume list"], max_args=0)
def ls(ctx, options, args):
    from .table import render_table

    volumes = ctx.engine.volumes.list(options["filter"])
    if options["quiet"]:
        ctx.stdout.write("".join(v["Name"] + "\n" for v in volumes))
        return 0
    ctx.stdout.write(render_table([volume_row(v) for v in volumes], [], options["format"] or LS_DEFAULT,
                                  LS_HEADERS))


@command("volume inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
         [flag("-f, --format", "str", help="Format output using a custom template")], min_args=1)
def inspect(ctx, options, args):
    from .container import print_inspect

    return print_inspect(ctx, args, ctx.engine.volumes.inspect, options["format"])


@command("volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
         [flag("-f, --force", help="Force the removal of one or more volumes")],
         aliases=["volume remove"], min_args=1)
def rm(ctx, options, args):
    code = 0
    for name in args:
        try:
            ctx.engine.volumes.remove(name, force=options["force"])
            ctx.out(name)
        except PydockError as e:
            ctx.err(f"Error: {e}")
            code = 1
    return code


@command("volume prune", "[OPTIONS]", "Remove unused local volumes",
         [flag("-a, --all", help="Remove all unused volumes, not just anonymous ones"),
          flag("-f, --force", help="Do not prompt for confirmation"),
          flag("--filter", "list", help="Provide filter values (e.g. 'label=<label>')")], max_args=0)
def prune(ctx, options, args):
    from .table import human_size

    if not options["force"]:
        ctx.stdout.write(PRUNE_WARNING[options["all"]] + "\nAre you sure you want to continue? [y/N] ")
        ctx.stdout.flush()
        if ctx.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    names, reclaimed = ctx.engine.volumes.prune(options["all"], options["filter"])
    if names:
        ctx.out("Deleted Volumes:\n" + "".join(name + "\n" for name in names) + "\n")
    ctx.out(f"Total reclaimed space: {human_size(reclaimed)}")
