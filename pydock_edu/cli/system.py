"""System commands: info, version, events, and ``inspect`` of any kind of object."""

import json
import time

from ..errors import NotFound
from .flags import flag
from .registry import command


@command("system info", "[OPTIONS]", "Display system-wide information",
         [flag("-f, --format", "str", help="Format output using a custom template")], aliases=["info"], max_args=0)
def info(ctx, options, args):
    data = ctx.engine.info()
    if options["format"]:
        from .template import render

        ctx.out(render(options["format"], data))
        return 0
    from .table import human_size

    lines = [
        f"Containers: {data['Containers']}",
        f" Running: {data['ContainersRunning']}",
        f" Paused: {data['ContainersPaused']}",
        f" Stopped: {data['ContainersStopped']}",
        f"Images: {data['Images']}",
        f"Server Version: {data['ServerVersion']} (native engine, no daemon)",
        f"Storage Driver: {data['Driver']}",
        f"Pydock Root Dir: {data['DockerRootDir']}",
        f"Cgroup Driver: {data['CgroupDriver']}" + (" (on a systemd host)" if data["Init"] == "systemd" else ""),
        f"Cgroup Parent: {data['CgroupParent'] or 'none'}",
        f"Cgroup Version: {data['CgroupVersion']}",
        f"Cgroup Controllers: {' '.join(data['CgroupControllers']) or 'none'}",
        f"Cgroup Delegated: {' '.join(data['CgroupDelegated']) or 'none'}",
        "Cgroup Missing: " + (", ".join(f"{name} ({what})" for name, what in data["CgroupMissing"].items())
                              or "none"),
        f"Kernel Version: {data['KernelVersion']}",
        f"Operating System: {data['OperatingSystem']}",
        f"Architecture: {data['Architecture']}",
        f"CPUs: {data['NCPU']}",
        f"Total Memory: {human_size(data['MemTotal'])}",
        f"Name: {data['Name']}",
        "Privileges: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in data["Privileges"].items()),
    ]
    ctx.out("\n".join(lines))
    for warning in data["Warnings"]:
        ctx.err(f"WARNING: {warning}")


@command("system version", "[OPTIONS]", "Show the pydock version information",
         [flag("-f, --format", "str", help="Format output using a custom template")], aliases=["version"],
         max_args=0)
def version(ctx, options, args):
    from .. import system

    data = system.version()
    if options["format"]:
        from .template import render

        ctx.out(render(options["format"], data))
        return 0
    client, server = data["Client"], data["Server"]
    ctx.out(f"Client:\n Version:           {client['Version']}\n API version:       {client['ApiVersion']}\n"
            f" Python version:    {client['PythonVersion']}\n OS/Arch:           {client['Os']}/{client['Arch']}\n\n"
            f"Server: {server['Engine']}\n Engine:\n  Version:          {server['Version']}\n"
            f"  API version:      {server['ApiVersion']}\n  Kernel version:   {server['KernelVersion']}\n"
            f"  OS/Arch:          {server['Os']}/{server['Arch']}")


@command("system events", "[OPTIONS]", "Get real time events from the engine",
         [flag("--since", "str", help="Show all events created since timestamp"),
          flag("--until", "str", help="Stream events until this timestamp"),
          flag("-f, --filter", "list", help="Filter output based on conditions provided"),
          flag("--format", "str", help="Format the output using the given Go template")],
         aliases=["events"], max_args=0)
def events(ctx, options, args):
    from .. import events as event_stream
    from ..timefmt import format_time
    from .container import _since

    since = _since(options["since"]) if options["since"] else time.time()
    until = _since(options["until"]) if options["until"] else None
    wanted = [f.partition("=") for f in options["filter"]]
    for event in event_stream.read(since, until, follow=True):
        if not all(_event_matches(event, key, value) for key, _, value in wanted):
            continue
        if options["format"]:
            from .template import render

            line = render(options["format"], event) if options["format"] != "{{json .}}" else json.dumps(event)
        else:
            attributes = ", ".join(f"{k}={v}" for k, v in sorted(event["Actor"]["Attributes"].items()))
            line = (f"{format_time(event['timeNano'] / 1e9)} {event['Type']} {event['Action']} "
                    f"{event['Actor']['ID']}" + (f" ({attributes})" if attributes else ""))
        ctx.out(line)
        ctx.stdout.flush()


def _event_matches(event, key, value):
    if key == "type":
        return event["Type"] == value
    if key == "event":
        return event["Action"].split(":")[0] == value
    if key in ("container", "image", "network", "volume"):
        return event["Type"] == key and (event["Actor"]["ID"].startswith(value)
                                         or event["Actor"]["Attributes"].get("name") == value)
    return True


@command("inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on pydock objects",
         [flag("-f, --format", "str", help="Format output using a custom template"),
          flag("--type", "str", help="Return JSON for specified type")], min_args=1)
def inspect(ctx, options, args):
    from .container import print_inspect

    return print_inspect(ctx, args, lambda ref: _inspect_any(ctx.engine, ref, options["type"]), options["format"])


def _inspect_any(engine, ref, kind):
    """Look ``ref`` up as a container, then an image, a network and a volume, as ``docker inspect`` does."""
    from .views import inspect_container

    lookups = {"container": lambda: inspect_container(engine.container(ref, damaged=True)),
               "image": lambda: engine.inspect_image(ref),
               "network": lambda: engine.networks.get(ref),
               "volume": lambda: engine.volumes.inspect(ref)}
    for name, lookup in lookups.items():
        if kind and kind != name:
            continue
        try:
            return lookup()
        except NotFound:
            continue
    raise NotFound(f"No such object: {ref}")
