"""Container commands: the lifecycle (run, create, start, stop, ...) and management (ps, logs, ...)."""

import json
import os

from ..errors import REQUEST_FAILED, InvalidArgument, NotFound, PydockError
from .flags import flag
from .registry import command

CREATE_FLAGS = [
    flag("--name", "str", help="Assign a name to the container"),
    flag("-e, --env", "list", help="Set environment variables", metavar="list"),
    flag("--env-file", "list", help="Read in a file of environment variables", metavar="list"),
    flag("-w, --workdir", "str", help="Working directory inside the container"),
    flag("-u, --user", "str", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    flag("-h, --hostname", "str", help="Container host name"),
    flag("--entrypoint", "str", help="Overwrite the default ENTRYPOINT of the image"),
    flag("-i, --interactive", help="Keep STDIN open even if not attached"),
    flag("-t, --tty", help="Allocate a pseudo-TTY"),
    flag("-l, --label", "list", help="Set meta data on a container"),
    flag("-m, --memory", "str", help="Memory limit"),
    flag("--cpus", "str", help="Number of CPUs"),
    flag("--pids-limit", "int", help="Tune container pids limit (set -1 for unlimited)"),
    flag("--network, --net", "str", help="Connect a container to a network"),
    flag("--ip", "str", help="IPv4 address (e.g., 172.30.100.104)"),
    flag("--network-alias", "list", help="Add network-scoped alias for the container"),
    flag("--alias", "list", help="Add network-scoped alias for the container"),
    flag("-p, --publish", "list", help="Publish a container's port(s) to the host"),
    flag("-P, --publish-all", help="Publish all exposed ports to random ports"),
    flag("--expose", "list", help="Expose a port or a range of ports"),
    flag("-v, --volume", "list", help="Bind mount a volume"),
    flag("--mount", "list", help="Attach a filesystem mount to the container"),
    flag("--tmpfs", "list", help="Mount a tmpfs directory"),
    flag("--volumes-from", "list", help="Mount volumes from the specified container(s)"),
    flag("--rm", help="Automatically remove the container when it exits"),
    flag("--stop-signal", "str", help="Signal to stop the container"),
    flag("--stop-timeout", "int", help="Timeout (in seconds) to stop a container"),
    flag("--health-cmd", "str", help="Command to run to check health"),
    flag("--health-interval", "str", help="Time between running the check"),
    flag("--health-retries", "int", help="Consecutive failures needed to report unhealthy"),
    flag("--health-timeout", "str", help="Maximum time to allow one check to run"),
    flag("--no-healthcheck", help="Disable any container-specified HEALTHCHECK"),
]


def create_body(options, args):
    """The Docker Engine API create body for ``run``/``create`` flags and ``IMAGE [COMMAND] [ARG...]``."""
    image, command_line = args[0], args[1:]
    env = []
    for path in options["env_file"]:
        env += _read_env_file(path)
    env += [_env_item(item) for item in options["env"]]
    host = {
        "AutoRemove": options["rm"],
        "NetworkMode": options["network"] or "default",
        "Memory": _memory(options["memory"]) if options["memory"] else 0,
        "NanoCpus": _nano_cpus(options["cpus"]) if options["cpus"] else 0,
        "PidsLimit": options["pids_limit"] or 0,
        "Binds": options["volume"],
        "Mounts": options["mount"],
        "Tmpfs": options["tmpfs"],
        "VolumesFrom": options["volumes_from"],
        "PublishAllPorts": options["publish_all"],
    }
    body = {
        "Image": image,
        "Cmd": command_line or None,
        "Env": [e for e in env if e is not None],
        "WorkingDir": options["workdir"] or "",
        "User": options["user"] or "",
        "Hostname": options["hostname"] or "",
        "Tty": options["tty"],
        "OpenStdin": options["interactive"],
        "StdinOnce": options["interactive"],
        "Labels": dict(_split_label(x) for x in options["label"]),
        "StopSignal": options["stop_signal"],
        "StopTimeout": options["stop_timeout"],
        "HostConfig": host,
    }
    if options["entrypoint"] is not None:
        body["Entrypoint"] = [options["entrypoint"]] if options["entrypoint"] else []
    if options["publish"] or options["expose"]:
        from ..network.ports import parse_publish

        exposed, bindings = parse_publish(options["publish"])
        for port in options["expose"]:
            exposed[port if "/" in port else port + "/tcp"] = {}
        body["ExposedPorts"], host["PortBindings"] = exposed, bindings
    aliases = options["alias"] + options["network_alias"]
    if options["ip"] or aliases:
        network = options["network"] or "bridge"
        body["NetworkingConfig"] = {"EndpointsConfig": {network: {
            "IPAMConfig": {"IPv4Address": options["ip"]} if options["ip"] else None, "Aliases": aliases}}}
    health = _healthcheck(options)
    if health:
        body["Healthcheck"] = health
    return body


def _memory(text):
    from .table import parse_size

    return parse_size(text)


def _healthcheck(options):
    if options["no_healthcheck"]:
        return {"Test": ["NONE"]}
    if not options["health_cmd"]:
        return None
    from ..build.dockerfile import parse_duration

    check = {"Test": ["CMD-SHELL", options["health_cmd"]]}
    for key, name in (("Interval", "health_interval"), ("Timeout", "health_timeout")):
        if options[name]:
            try:
                check[key] = parse_duration(options[name])
            except ValueError as e:
                flag_name = "--" + name.replace("_", "-")
                raise InvalidArgument(f'invalid argument "{options[name]}" for "{flag_name}" flag: {e}') from None
    if options["health_retries"]:
        check["Retries"] = options["health_retries"]
    return check


def _env_item(item):
    """``KEY=VALUE`` as given; a bare ``KEY`` takes its value from our environment (or is dropped)."""
    key, has_value, _ = item.partition("=")
    if not key or key.strip() != key and not has_value:
        raise InvalidArgument(f"invalid environment variable: {item}")
    if has_value:
        return item
    return f"{key}={os.environ[key]}" if key in os.environ else None


def _read_env_file(path):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower()}") from None
    return [_env_item(line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _split_label(text):
    key, _, value = text.partition("=")
    return key, value


def _nano_cpus(text):
    try:
        cpus = float(text)
    except ValueError:
        raise InvalidArgument(f'invalid argument "{text}" for "--cpus" flag: failed to parse {text} as a '
                              "rational number") from None
    if not 0 < cpus <= os.cpu_count():  # also refuses nan
        raise InvalidArgument(f"range of CPUs is from 0.01 to {os.cpu_count()}.00, as there are only "
                              f"{os.cpu_count()} CPUs available")
    return round(cpus * 1e9)  # int() would turn 1.001 into 1000999999


def _terminal_size(ctx):
    try:
        size = os.get_terminal_size(ctx.stdout.fileno())
        return [size.lines, size.columns]
    except (OSError, AttributeError, ValueError):
        return None


def _stdin_fd(ctx):
    try:
        return ctx.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None


class _RawTerminal:
    """Put the user's terminal in raw mode while attached to a container's terminal."""

    def __init__(self, fd, enabled):
        self.fd, self.enabled, self.saved = fd, enabled and fd is not None and os.isatty(fd), None

    def __enter__(self):
        if self.enabled:
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd)

    def __exit__(self, *exc):
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def _attached(ctx, start, interactive, tty):
    """Start (or attach) with the terminal wired to the container; return its exit code."""
    from ..engine import Attachment

    attachment = Attachment()
    started = start(attachment)
    stdin_fd = _stdin_fd(ctx) if interactive else None
    with _RawTerminal(stdin_fd, tty):
        code = attachment.relay(ctx.write_stream, stdin_fd)
    if code is None:  # the stream ended without an exit code (the shim died): ask the engine
        code = ctx.engine.wait(started if isinstance(started, str) else started["Id"])
    return code


@command("container run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
         CREATE_FLAGS + [flag("-d, --detach", help="Run container in background and print container ID")],
         aliases=["run"], interspersed=False, min_args=1, runs_container=True)
def run(ctx, options, args):
    from .remote import pull_if_missing

    body = create_body(options, args)
    pull_if_missing(ctx, body["Image"])
    if options["detach"]:
        ctx.out(ctx.engine.run(body, options["name"]))
        return 0
    size = _terminal_size(ctx) if options["tty"] else None
    return _attached(ctx, lambda a: ctx.engine.run(body, options["name"], attach=a, console_size=size),
                     options["interactive"], options["tty"])


@command("container create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", CREATE_FLAGS,
         aliases=["create"], interspersed=False, min_args=1, runs_container=True)
def create(ctx, options, args):
    from .remote import pull_if_missing

    body = create_body(options, args)
    pull_if_missing(ctx, body["Image"])
    ctx.out(ctx.engine.create(body, options["name"]))


@command("container start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
         [flag("-a, --attach", help="Attach STDOUT/STDERR and forward signals"),
          flag("-i, --interactive", help="Attach container's STDIN")],
         aliases=["start"], min_args=1)
def start(ctx, options, args):
    if options["attach"] or options["interactive"]:
        record = ctx.engine.container(args[0])
        tty = record["Config"].get("Tty")
        return _attached(ctx, lambda a: ctx.engine.start(args[0], attach=a, console_size=_terminal_size(ctx)),
                         options["interactive"], tty)
    failed = _failures(ctx, args, ctx.engine.start)
    if failed:  # as docker/cli's startContainersWithoutAttachments (start.go) ends
        ctx.err("Error: failed to start containers: " + ", ".join(failed))
    return REQUEST_FAILED if failed else 0


def _each(ctx, refs, action, echo=True, missing_ok=False):
    """Apply ``action`` to each container, printing its reference; 1 if any failed (see :func:`_failures`)."""
    return REQUEST_FAILED if _failures(ctx, refs, action, echo, missing_ok) else 0


def _failures(ctx, refs, action, echo=True, missing_ok=False):
    """Apply ``action`` to each container, printing each error as it comes; return the refs that failed.

    With ``missing_ok`` (``rm -f``), a container that does not exist is reported but is no failure, so
    cleanup lines under ``set -e`` go on (docker/cli rm.go: with --force, not-found errors go to stderr).
    """
    failed = []
    for ref in refs:
        try:
            action(ref)
            if echo:
                ctx.out(ref)
        except PydockError as e:
            ctx.err(f"Error: {e}")
            if not (missing_ok and isinstance(e, NotFound)):
                failed.append(ref)
    return failed


@command("container stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
         [flag("-t, --time", "int", help="Seconds to wait before killing the container"),
          flag("-s, --signal", "str", help="Signal to send to the container")], aliases=["stop"], min_args=1)
def stop(ctx, options, args):
    return _each(ctx, args, lambda ref: ctx.engine.stop(ref, options["time"], options["signal"]))


@command("container restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
         [flag("-t, --time", "int", help="Seconds to wait before killing the container")],
         aliases=["restart"], min_args=1)
def restart(ctx, options, args):
    return _each(ctx, args, lambda ref: ctx.engine.restart(ref, options["time"]))


@command("container kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
         [flag("-s, --signal", "str", default="KILL", help="Signal to send to the container")],
         aliases=["kill"], min_args=1)
def kill(ctx, options, args):
    return _each(ctx, args, lambda ref: ctx.engine.kill(ref, options["signal"]))


@command("container rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
         [flag("-f, --force", help="Force the removal of a running container (uses SIGKILL)"),
          flag("-v, --volumes", help="Remove anonymous volumes associated with the container")],
         aliases=["rm", "container remove"], min_args=1)
def remove(ctx, options, args):
    return _each(ctx, args, lambda ref: ctx.engine.remove(ref, options["force"], options["volumes"]),
                 missing_ok=options["force"])


@command("container prune", "[OPTIONS]", "Remove all stopped containers",
         [flag("-f, --force", help="Do not prompt for confirmation"),
          flag("--filter", "list", help="Provide filter values (e.g. 'label=<key>=<value>')")], max_args=0)
def prune(ctx, options, args):
    from .table import human_size

    if not options["force"]:
        ctx.stdout.write("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
        ctx.stdout.flush()
        if ctx.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    removed, reclaimed = ctx.engine.prune_containers(options["filter"])
    if removed:
        ctx.out("Deleted Containers:\n" + "".join(cid + "\n" for cid in removed) + "\n")
    ctx.out(f"Total reclaimed space: {human_size(reclaimed)}")


@command("container pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
         aliases=["pause"], min_args=1)
def pause(ctx, options, args):
    return _each(ctx, args, ctx.engine.pause)


@command("container unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
         aliases=["unpause"], min_args=1)
def unpause(ctx, options, args):
    return _each(ctx, args, ctx.engine.unpause)


@command("container wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print "
         "their exit codes", aliases=["wait"], min_args=1)
def wait(ctx, options, args):
    return _each(ctx, args, lambda ref: ctx.out(str(ctx.engine.wait(ref))), echo=False)


@command("container rename", "CONTAINER NEW_NAME", "Rename a container", aliases=["rename"], min_args=2, max_args=2)
def rename(ctx, options, args):
    ctx.engine.rename(args[0], args[1])


@command("container exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container",
         [flag("-i, --interactive", help="Keep STDIN open even if not attached"),
          flag("-t, --tty", help="Allocate a pseudo-TTY"),
          flag("-d, --detach", help="Detached mode: run command in the background"),
          flag("-e, --env", "list", help="Set environment variables"),
          flag("-w, --workdir", "str", help="Working directory inside the container"),
          flag("-u, --user", "str", help="Username or UID (format: <name|uid>[:<group|gid>])")],
         aliases=["exec"], interspersed=False, min_args=2)
def exec_(ctx, options, args):
    import subprocess

    env = [e for e in (_env_item(item) for item in options["env"]) if e is not None]
    stdin = None if options["interactive"] else subprocess.DEVNULL
    pipes = ctx.binary_stdout() is None or not hasattr(ctx.stdout, "fileno")
    process = ctx.engine.exec(args[0], args[1:], env=env, workdir=options["workdir"], user=options["user"],
                              tty=options["tty"], detach=options["detach"], stdin=stdin,
                              stdout=subprocess.PIPE if pipes else None, stderr=subprocess.PIPE if pipes else None)
    with _RawTerminal(_stdin_fd(ctx), options["tty"] and options["interactive"]):
        out, err = process.communicate()
    if pipes:
        ctx.write_stream(1, out)
        ctx.write_stream(2, err)
    _finish_explain(process)
    return process.returncode


def _finish_explain(process):
    if process.explain_fd is not None:
        from ..engine import _relay_explain

        _relay_explain(process.explain_fd, block=True)
        os.close(process.explain_fd)


@command("container attach", "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams "
         "to a running container", [flag("--no-stdin", help="Do not attach STDIN")],
         aliases=["attach"], min_args=1, max_args=1)
def attach(ctx, options, args):
    record = ctx.engine.container(args[0])
    return _attached(ctx, lambda a: ctx.engine.attach(args[0], a),
                     not options["no_stdin"] and record["Config"].get("OpenStdin"), record["Config"].get("Tty"))


@command("container logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container",
         [flag("-f, --follow", help="Follow log output"),
          flag("-n, --tail", "str", default="all", help="Number of lines to show from the end of the logs"),
          flag("-t, --timestamps", help="Show timestamps"),
          flag("--since", "str", help="Show logs since timestamp or relative (e.g. 42m for 42 minutes)")],
         aliases=["logs"], min_args=1, max_args=1)
def logs(ctx, options, args):
    tail = None if options["tail"] in ("all", "") else _int(options["tail"], "--tail")
    since = _since(options["since"]) if options["since"] else None
    for stream, text, time_text in ctx.engine.logs(args[0], options["follow"], tail, since):
        line = f"{time_text} {text}" if options["timestamps"] else text
        ctx.write_stream(1 if stream == "stdout" else 2, line.encode())


def _int(text, name):
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f'invalid argument "{text}" for "{name}" flag') from None


def _since(text):
    """``--since``: an RFC 3339 time, a Unix timestamp, or a duration before now (``10m``)."""
    import time

    from ..timefmt import parse_time

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_time(text)
    except ValueError:
        pass
    from ..build.dockerfile import parse_duration

    try:
        return time.time() - parse_duration(text) / 1e9
    except (PydockError, ValueError):
        raise InvalidArgument(f'invalid value for "since": {text}') from None


@command("container top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container",
         aliases=["top"], interspersed=False, min_args=1)
def top(ctx, options, args):
    from .table import render_table

    titles, rows = ctx.engine.top(args[0], " ".join(args[1:]) or "-ef")
    columns = [(title, i) for i, title in enumerate(titles)]
    ctx.stdout.write(render_table([dict(enumerate(r)) for r in rows], columns))


# Listing and inspecting

PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
              "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "State": "STATE",
              "Labels": "LABELS", "Networks": "NETWORKS", "Mounts": "MOUNTS", "Size": "SIZE"}
PS_DEFAULT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"


@command("container ls", "[OPTIONS]", "List containers",
         [flag("-a, --all", help="Show all containers (default shows just running)"),
          flag("-q, --quiet", help="Only display container IDs"),
          flag("-l, --latest", help="Show the latest created container (includes all states)"),
          flag("-n, --last", "int", default=-1, help="Show n last created containers (includes all states)"),
          flag("--no-trunc", help="Don't truncate output"),
          flag("-f, --filter", "list", help="Filter output based on conditions provided"),
          flag("--format", "str", help="Format output using a custom template")],
         aliases=["ps", "container list", "container ps"], max_args=0)
def ps(ctx, options, args):
    from .table import render_table
    from .views import container_row

    last = 1 if options["latest"] else options["last"]
    records = ctx.engine.containers(all=options["all"] or last > 0)
    records = [r for r in records if _matches(r, options["filter"])]
    if last > 0:
        records = records[:last]
    rows = [container_row(r, options["no_trunc"]) for r in records]
    if options["quiet"]:
        ctx.stdout.write("".join(row["ID"] + "\n" for row in rows))
        return 0
    ctx.stdout.write(render_table(rows, [], options["format"] or PS_DEFAULT, PS_HEADERS))


def _matches(record, filters):
    """``-f key=value`` filters of ``ps``: status, name, id, label, exited, ancestor."""
    import re

    for text in filters:
        key, _, value = text.partition("=")
        state = record["State"]
        if key == "status":
            if value not in ("created", "restarting", "running", "removing", "paused", "exited", "dead"):
                raise InvalidArgument(f"invalid filter 'status={value}'")
            if state["Status"] != value:
                return False
        elif key == "name":
            try:
                if not re.search(value, record["Name"][1:]):
                    return False
            except re.error as e:
                raise InvalidArgument(f"error parsing regexp: {e}: `{value}`") from None
        elif key == "id":
            if not record["Id"].startswith(value):
                return False
        elif key == "label":
            name, has_value, wanted = value.partition("=")
            labels = record["Config"].get("Labels") or {}
            if name not in labels or has_value and labels[name] != wanted:
                return False
        elif key == "exited":
            if state["Status"] != "exited" or str(state["ExitCode"]) != value:
                return False
        elif key == "ancestor":
            if value not in (record.get("ImageName"), record["Image"]) and not record["Image"][7:].startswith(value):
                return False
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    return True


@command("container inspect", "[OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or "
         "more containers", [flag("-f, --format", "str", help="Format output using a custom template"),
                             flag("-s, --size", help="Display total file sizes")], min_args=1)
def inspect(ctx, options, args):
    from .views import inspect_container

    return print_inspect(ctx, args, lambda ref: inspect_container(ctx.engine.container(ref, damaged=True)), options["format"])


def print_inspect(ctx, refs, lookup, template):
    """Print JSON (or a template per object), as every ``inspect`` command does."""
    objects, code = [], 0
    for ref in refs:
        try:
            objects.append(lookup(ref))
        except PydockError as e:
            ctx.err(f"Error: {e}")
            code = 1
    if template:
        from .template import render

        for obj in objects:
            ctx.out(render(template, obj))
    else:
        ctx.out(json.dumps(objects, indent=4))
    return code


@command("container port", "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for "
         "the container", aliases=["port"], min_args=1, max_args=2)
def port(ctx, options, args):
    record = ctx.engine.container(args[0])
    ports = record["NetworkSettings"].get("Ports") or {}
    wanted = args[1] if len(args) > 1 else None
    if wanted and "/" not in wanted:
        wanted += "/tcp"
    lines = [f"{key} -> {b['HostIp']}:{b['HostPort']}" if not wanted else f"{b['HostIp']}:{b['HostPort']}"
             for key, bindings in sorted(ports.items()) if bindings and (not wanted or key == wanted)
             for b in bindings]
    if wanted and not lines:
        raise PydockError(f"No public port '{wanted}' published for {args[0]}")
    ctx.stdout.write("".join(line + "\n" for line in lines))


# A container's files: commit, diff, export, cp


@command("container commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes",
         [flag("-a, --author", "str", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
          flag("-c, --change", "list", help="Apply Dockerfile instruction to the created image"),
          flag("-m, --message", "str", help="Commit message"),
          flag("-p, --pause", default=True, help="Pause container during commit (default true)")],
         aliases=["commit"], min_args=1, max_args=2)
def commit(ctx, options, args):
    ctx.out(ctx.engine.commit(args[0], args[1] if len(args) > 1 else None, options["message"] or "",
                              options["author"] or "", options["change"], options["pause"]))


@command("container diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem",
         aliases=["diff"], min_args=1, max_args=1)
def diff(ctx, options, args):
    ctx.stdout.write("".join(f"{kind} {path}\n" for kind, path in ctx.engine.diff(args[0])))


@command("container export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive",
         [flag("-o, --output", "str", help="Write to a file, instead of STDOUT")], aliases=["export"],
         min_args=1, max_args=1)
def export(ctx, options, args):
    from .files import output_file

    with output_file(ctx, options["output"]) as out:
        ctx.engine.export(args[0], out)


@command("container cp", "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tpydock cp [OPTIONS] SRC_PATH|- "
         "CONTAINER:DEST_PATH", "Copy files/folders between a container and the local filesystem",
         [flag("-a, --archive", help="Archive mode (copy all uid/gid information)"),
          flag("-L, --follow-link", help="Always follow symbol link in SRC_PATH"),
          flag("-q, --quiet", help="Suppress progress output during copy. Progress output is automatically "
                                   "suppressed if no terminal is attached")],
         aliases=["cp"], min_args=2, max_args=2)
def cp(ctx, options, args):
    from .files import binary_stdin
    from .main import is_terminal
    from .table import human_size

    ctx.stdout.flush()
    size = ctx.engine.copy(args[0], args[1], follow=options["follow_link"], archive=options["archive"],
                           stdin=binary_stdin(ctx), stdout=ctx.binary_stdout() or ctx.stdout)
    if not options["quiet"] and args[1] != "-" and is_terminal(ctx.stderr):
        ctx.err(f"Successfully copied {human_size(size)} to {args[1]}")
