"""The Engine: the one API behind the CLI, the Jupyter magics, the widgets and the tests.

Its methods take and return plain data shaped like Docker's Engine API (a container create
body in, ``docker inspect`` records out), so every front end only parses and formats. It needs
no daemon: state lives on disk (:mod:`.state`), and each running container is supervised by its
own shim process (:mod:`.runtime.shim`).
"""

import os
import time

from . import container, events, explain, state
from .errors import Conflict, InvalidArgument, NotFound, PydockError
from .timefmt import ZERO, format_time

NAME_PATTERN = r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$"
DEFAULT_STOP_TIMEOUT = 10
MIN_MEMORY = 6 * 1024 * 1024
MAX_INT64 = 2**63 - 1  # Docker's API type for limits
MAX_PIDS_LIMIT = 4 * 1024 * 1024  # PID_MAX_LIMIT: the largest value the kernel takes in pids.max
MIN_NANO_CPUS = 10_000_000  # 0.01 CPU: a CFS quota of 1 ms per 100 ms period, the kernel's minimum
HOST_NAME_MAX = 64


class Engine:
    """The native engine: real namespaces, overlayfs, cgroups on this Linux host."""

    def __init__(self):
        os.makedirs(state.path("containers"), exist_ok=True)
        self._images = None

    @property
    def networks(self):
        """The networks (:class:`pydock_edu.network.manager.Networks`)."""
        from .network.manager import Networks

        return Networks()

    @property
    def volumes(self):
        """The volumes (:class:`pydock_edu.volume.store.Volumes`)."""
        from .volume.store import Volumes

        return Volumes()

    @property
    def images(self):
        """The image store (:class:`pydock_edu.image.store.ImageStore`)."""
        if self._images is None:
            from .image.store import ImageStore

            self._images = ImageStore()
        return self._images

    # Looking containers up

    def container_ids(self):
        return container.ids()

    def containers(self, all=False):
        """Every container record (refreshed), newest first; only running ones unless ``all``."""
        records = [r for r in (self._refresh(container.load(i)) for i in self.container_ids()) if r]
        records.sort(key=lambda r: r["Created"], reverse=True)
        return [r for r in records if all or r["State"]["Running"]]

    def container(self, ref, damaged=False):
        """The container named by full ID, name, or unique ID prefix. A damaged record (its ``Dead``
        stand-in) is returned only with ``damaged`` (inspect, logs, rm); other requests are refused."""
        record = container.load(self.resolve_container(ref))
        if record is None:  # its directory is being removed right now
            raise NotFound(f"No such container: {ref}", 1)
        if not damaged:
            _refuse_damaged(record)
        return self._refresh(record)

    def resolve_container(self, ref):
        ids = self.container_ids()
        if ref in ids:
            return ref
        name = "/" + ref.lstrip("/")
        for cid in ids:
            record = container.load(cid)
            if record and record["Name"] == name:
                return cid
        matches = [cid for cid in ids if cid.startswith(ref)] if ref else []
        if len(matches) > 1:
            raise PydockError(f"multiple IDs found with provided prefix: {ref}")
        if not matches:
            raise NotFound(f"No such container: {ref}", 1)
        return matches[0]

    def _refresh(self, record):
        """Make a record tell the truth: a container whose shim has died is not running."""
        if record is None or record["State"]["Status"] not in container.ACTIVE:
            return record
        if _shim_alive(record.get("Shim")):
            return record
        self._kill_leftovers(record["Id"], record["State"]["Paused"], record["State"]["Pid"])

        def mark_dead(r):
            if r["State"]["Status"] in container.ACTIVE:
                r["State"].update(Status="exited", Running=False, Paused=False, Pid=0, ExitCode=137,
                                  FinishedAt=format_time(), Error="the container's shim died")
                r.pop("Shim", None)

        try:
            record = container.update(record["Id"], mark_dead)
        except PydockError:  # the record cannot be written (a full disk): show the truth anyway
            mark_dead(record)
        self._release_network(record)
        return record

    def _kill_leftovers(self, cid, paused=True, init_pid=0):
        """SIGKILL whatever still runs in the container's cgroup (or, without cgroups, in the PID
        namespace of its PID 1 ``init_pid``), then remove the cgroup."""
        import contextlib
        import signal

        from .runtime.cgroups import Cgroup

        cgroup = Cgroup(cid)
        for pid in cgroup.pids(init_pid):
            with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
                os.kill(pid, signal.SIGKILL)
        if paused and cgroup.exists():
            cgroup.thaw()  # frozen processes die only once thawed
        cgroup.remove()

    # Creating

    def create(self, body, name=None):
        """Create a container from a Docker-style create body; return its ID."""
        from .volume.mounts import container_mounts

        image_name = body.get("Image") or ""
        if not image_name:
            raise InvalidArgument("image name cannot be empty")
        image_id = self._find_image(image_name)
        image_config = self.images.config(image_id).get("config") or {}
        host = dict(body.get("HostConfig") or {})
        config = _merge_config(body, image_config)
        if config.get("StopSignal"):
            parse_signal(config["StopSignal"])  # refused now, not when the container is stopped
        _check_limits(host)
        if body.get("WorkingDir") and not str(body["WorkingDir"]).startswith("/"):
            raise InvalidArgument(f"the working directory '{body['WorkingDir']}' is invalid, it needs to be an "
                                  "absolute path")
        if any("\0" in str(word) for word in [config["Path"], *config["Args"], *config["Env"],
                                               config["WorkingDir"], config["User"]]):
            raise InvalidArgument("invalid container config: a command, an environment variable, the working "
                                  "directory or the user contains a NUL byte")
        _require_cgroup_limits(host)
        network_mode = host.get("NetworkMode") or "default"
        if network_mode == "default":
            network_mode = self.default_network()
        host["NetworkMode"] = network_mode
        if network_mode.startswith("container:"):
            self.resolve_container(network_mode.split(":", 1)[1])
        elif network_mode not in ("host", "none"):
            self.networks.get(network_mode)  # NotFound: "network X not found"
            if host.get("PublishAllPorts"):
                from .network.ports import publish_all

                host["PortBindings"] = {**publish_all(config["ExposedPorts"]), **(host.get("PortBindings") or {})}
        for network, wanted in ((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).items():
            wanted = wanted or {}
            self.networks.check_endpoint(network, (wanted.get("IPAMConfig") or {}).get("IPv4Address"),
                                         wanted.get("Aliases") or ())
        if network_mode == "host":
            config["Hostname"] = config.get("Hostname") or os.uname().nodename
        if len(config.get("Hostname") or "") > HOST_NAME_MAX:
            raise InvalidArgument(f"invalid hostname format: {config['Hostname']} (at most {HOST_NAME_MAX} characters)")
        if not config["Path"]:
            raise InvalidArgument("no command specified")
        cid = os.urandom(32).hex()
        config["Hostname"] = config.get("Hostname") or cid[:12]
        path = container.directory(cid)
        with state.locked():
            name = self._claim_name(name, cid)
            mounts = container_mounts(self, host, config)
            try:
                with container.creating(cid) as new:  # all or nothing: renamed to `path` when complete
                    for sub in ("diff", "work", "merged"):
                        os.mkdir(os.path.join(new, sub))
                    _write_etc_files(new, config["Hostname"], network_mode)
                    record = _new_record(cid, name, image_id, image_name, config, host, path, self.images)
                    record.update(mounts)
                    record["NetworkingConfig"] = body.get("NetworkingConfig") or {}
                    container.save(record, new)
            except BaseException:
                self.volumes.discard_anonymous(cid, mounts["AnonymousVolumes"])
                raise
        events.emit("container", "create", cid, {"image": image_name, "name": name})
        return cid

    def default_network(self):
        return "bridge" if self._networking_available() else "none"

    @staticmethod
    def _networking_available():
        """Bridges need root and pyroute2 (looked for, not imported: importing it is slow)."""
        from importlib.util import find_spec

        return os.geteuid() == 0 and find_spec("pyroute2") is not None

    def _claim_name(self, name, cid):
        """Take a name for a new container (under the store lock)."""
        import re

        taken = {}
        for other in self.container_ids():
            record = container.load(other)
            if record:
                taken[record["Name"]] = other
        if name:
            if not re.match(NAME_PATTERN, name):
                raise InvalidArgument(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
            name = name.lstrip("/")
            if "/" + name in taken:
                raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                               f'"{taken["/" + name]}". You have to remove (or rename) that container to be '
                               "able to reuse that name.")
            return name
        from .names import random_name

        while True:
            name = random_name()
            if "/" + name not in taken:
                return name

    def _find_image(self, name):
        try:
            return self.images.resolve(name)
        except NotFound:
            raise NotFound(f"Unable to find image '{name}' locally") from None

    # Running

    def start(self, ref, attach=None, console_size=None):
        """Start a container. With ``attach`` (an :class:`Attachment`), stream its I/O there."""
        cid = self.resolve_container(ref)
        try:  # one start at a time: two would each fork a PID 1 into the same cgroup
            with state.locked(os.path.join("containers", cid, "start.lock")):
                return self._start(cid, attach, console_size)
        except FileNotFoundError:
            if os.path.isdir(container.directory(cid)):
                raise
            raise NotFound(f"No such container: {ref}", 1) from None

    def _start(self, cid, attach, console_size):
        import socket

        record = self._refresh(container.load(cid))
        _refuse_damaged(record)
        if record["State"]["Running"]:
            if attach is None:
                return record  # starting a running container does nothing, as in Docker
            raise Conflict(f"container {cid[:12]} is already running")
        _require_privileges()
        _require_cgroup_limits(record["HostConfig"])  # the host may have lost a controller since create
        spec = self._runtime_spec(record, console_size)
        if spec["wait_for_network"]:
            from .network import netlink

            netlink.preload()
            if record["HostConfig"].get("PortBindings"):
                self.networks.check_ports_free(record["HostConfig"]["PortBindings"])
        self.volumes.mount_for(record)
        state.write_json(os.path.join(container.directory(cid), "spec.json"), spec)
        # The shim's ends become plain fds (detach): closed once below, never again when a socket object dies.
        sync, sync_child = socket.socketpair()
        sync_fd = sync_child.detach()
        env, fds = {"PYDOCK_SYNC_FD": str(sync_fd)}, [sync_fd]
        if attach is not None:
            attach.sock, attach_child = socket.socketpair()
            attach_fd = attach_child.detach()
            env["PYDOCK_ATTACH_FD"] = str(attach_fd)
            fds.append(attach_fd)
        explain_r = None
        if explain.enabled():
            explain_r, explain_w = os.pipe()
            env["PYDOCK_EXPLAIN_FD"] = str(explain_w)
            fds.append(explain_w)
        from .runtime.spawn import helper

        log = open(os.path.join(container.directory(cid), "shim.log"), "ab")
        shim = helper("pydock_edu.runtime.shim", [cid], env=env, pass_fds=fds, start_new_session=True,
                      stdin=-3, stdout=log, stderr=log)
        log.close()
        for fd in fds:
            os.close(fd)
        shim.wait()
        try:
            message = _receive(sync, explain_r)
            if "netns" in message:
                self._plug_in(record, message["netns"], sync, explain_r)
                message = _receive(sync, explain_r)
        finally:
            sync.close()
            if attach is not None:
                attach.explain_fd = explain_r
            elif explain_r is not None:
                _relay_explain(explain_r, block=False)
                os.close(explain_r)
        if "error" in message:
            if attach is not None:
                attach.close()
            raise PydockError(message["error"], message["code"])
        if "started" not in message:  # the shim died (its log says why): undo what it made
            _undo_start(cid)
            raise PydockError(f"container {cid[:12]} did not start: see {container.directory(cid)}/shim.log")
        events.emit("container", "start", cid, {"name": record["Name"].lstrip("/")})
        return container.load(cid)

    def _plug_in(self, record, pid, sync, explain_r):
        """Connect the new network namespace of PID 1, then tell the shim ``go``. If connecting fails,
        send the shim the error instead: it kills PID 1 and removes its cgroup; once it has answered,
        free what was made on the networks, and fail."""
        try:
            self._connect_networks(record, pid)
        except BaseException as e:
            import contextlib
            import json

            error = e if isinstance(e, PydockError) else PydockError(f"failed to set up the network: {e}")
            with contextlib.suppress(OSError):
                sync.sendall(json.dumps({"error": str(error), "code": error.exit_code}).encode() + b"\n")
                _receive(sync, explain_r)  # the shim's answer, sent once it has undone the start
            self.networks.release(record["Id"])
            if error is e or not isinstance(e, Exception):
                raise
            raise error from e
        sync.sendall(b"go\n")

    def _runtime_spec(self, record, console_size=None):
        """What the shim and the container's init need, in one JSON document."""
        cid, config, host = record["Id"], record["Config"], record["HostConfig"]
        path = container.directory(cid)
        network_mode = host["NetworkMode"]
        if network_mode == "host":
            network = "host"
        elif network_mode.startswith("container:"):
            other = self.container(network_mode.split(":", 1)[1])
            if not other["State"]["Running"]:
                raise Conflict(f"cannot join network of a non running container: {other['Id'][:12]}")
            network = f"/proc/{other['State']['Pid']}/ns/net"
        else:
            network = "new"
        layers = self.images.layers(record["Image"])
        empty = os.path.join(self.images.root, "empty")
        os.makedirs(empty, exist_ok=True)
        files = {"/etc/hostname": f"{path}/hostname", "/etc/hosts": f"{path}/hosts",
                 "/etc/resolv.conf": f"{path}/resolv.conf"}
        if network.startswith("/proc/"):
            other_path = container.directory(other["Id"])
            files.update({"/etc/hosts": f"{other_path}/hosts", "/etc/resolv.conf": f"{other_path}/resolv.conf"})
        return {
            "id": cid,
            "args": [record["Path"], *record["Args"]],
            "env": config.get("Env") or [],
            "cwd": config.get("WorkingDir") or "/",
            "user": config.get("User") or "",
            "hostname": config["Hostname"],
            "tty": bool(config.get("Tty")),
            "open_stdin": bool(config.get("OpenStdin")),
            "stdin_once": bool(config.get("StdinOnce")),
            "console_size": console_size,
            "rootfs": {
                "layers_root": os.path.join(self.images.root, "layers"),
                "lower": [os.path.relpath(self.images.layer_dir(d), self.images.root + "/layers")
                          for d in reversed(layers)],
                "empty": empty,
                "upper": f"{path}/diff", "work": f"{path}/work", "merged": f"{path}/merged",
            },
            "files": files,
            "mounts": record.get("RuntimeMounts", []),
            "network": network,
            "wait_for_network": network == "new" and network_mode not in ("none",),
            "cgroup": {"memory": host.get("Memory") or 0, "nano_cpus": host.get("NanoCpus") or 0,
                       "pids_limit": host.get("PidsLimit") or 0},
        }

    def _connect_networks(self, record, pid):
        """Plug the container's new network namespace into its networks (veth pairs on bridges)."""
        from .runtime import linux

        if linux.RECORD_ONLY:  # the network subsystem acts through pyroute2 and iptables directly
            explain.step("netlink", f"connect to network {record['HostConfig']['NetworkMode']}: a veth pair, "
                                    "one end on its bridge, the other as eth0 with an address and a default route")
            return
        networks = self.networks
        host = record["HostConfig"]
        endpoints = (record.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        names = [host["NetworkMode"]] + [n for n in endpoints if n != host["NetworkMode"]]
        for index, name in enumerate(names):
            wanted = endpoints.get(name) or {}
            networks.connect(record, pid, name, ip=(wanted.get("IPAMConfig") or {}).get("IPv4Address"),
                             aliases=wanted.get("Aliases") or (), primary=index == 0)

        def store(r):
            r["NetworkSettings"] = networks.network_settings(r["Id"])

        container.update(record["Id"], store)

    def _release_network(self, record):
        if record and record.get("NetworkSettings", {}).get("Networks"):
            self.networks.release(record["Id"])

    def connect_network(self, network, ref, ip=None, aliases=()):
        """``network connect``: a running container gets one more interface; a stopped one at next start."""
        record = self.container(ref)
        wanted = {"IPAMConfig": {"IPv4Address": ip} if ip else None, "Aliases": list(aliases)}
        try:
            name = self.networks.check_endpoint(network, ip, aliases)  # refused now, not at the next start
        except PydockError as e:
            raise type(e)(str(e), 1) from None  # a failed request of a command other than run/create
        if record["State"]["Running"]:
            self.networks.connect(record, record["State"]["Pid"], name, ip=ip, aliases=aliases, primary=False)

        def store(r):
            r.setdefault("NetworkingConfig", {}).setdefault("EndpointsConfig", {})[name] = wanted
            if r["State"]["Running"]:
                r["NetworkSettings"] = self.networks.network_settings(r["Id"])

        container.update(record["Id"], store)

    def disconnect_network(self, network, ref):
        record = self.container(ref)
        name = self.networks.get(network)["Name"]
        if record["State"]["Running"]:
            self.networks.disconnect(record["Id"], name)

        def store(r):
            ((r.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).pop(name, None)
            if r["HostConfig"]["NetworkMode"] == name:
                r["HostConfig"]["NetworkMode"] = "none"
            r["NetworkSettings"] = self.networks.network_settings(r["Id"])

        container.update(record["Id"], store)

    def run(self, body, name=None, attach=None, console_size=None):
        """``docker run``: create, then start (attached if ``attach`` is given). Return the ID."""
        cid = self.create(body, name)
        try:
            self.start(cid, attach=attach, console_size=console_size)
        except BaseException:
            if (body.get("HostConfig") or {}).get("AutoRemove"):
                self._remove_now(cid)
            raise
        return cid

    def attach(self, ref, attachment):
        """Connect ``attachment`` to a running container's attach socket."""
        import socket

        record = self.container(ref)
        if not record["State"]["Running"]:
            raise Conflict("You cannot attach to a stopped container, start it first")
        attachment.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        attachment.sock.connect(container.attach_socket(record["Id"]))
        return record

    # Stopping

    def kill(self, ref, sig="KILL"):
        import signal

        from .runtime import linux

        record = self.container(ref)
        if not record["State"]["Running"]:
            raise Conflict(f"Cannot kill container: {ref}: Container {record['Id']} is not running", 1)
        signum = parse_signal(sig)
        linux.kill(record["State"]["Pid"], signum)
        if record["State"]["Paused"] and signum == signal.SIGKILL:
            self._cgroup(record["Id"]).thaw()  # a frozen process dies only once it is thawed
        events.emit("container", "kill", record["Id"], {"name": record["Name"][1:], "signal": str(signum)})
        return record["Id"]

    def stop(self, ref, timeout=None, sig=None):
        """Send the stop signal (SIGTERM), wait ``timeout`` seconds, then SIGKILL; wait for the exit."""
        import signal

        from .runtime import linux

        record = self.container(ref)
        cid = record["Id"]
        if not record["State"]["Running"]:
            return cid
        signum = parse_signal(sig or record["Config"].get("StopSignal") or "SIGTERM")
        if timeout is None:
            timeout = record["Config"].get("StopTimeout") or DEFAULT_STOP_TIMEOUT
        pid = record["State"]["Pid"]
        shim = record.get("Shim", {}).get("Pid")
        events.emit("container", "kill", cid, {"name": record["Name"][1:], "signal": str(signum)})
        linux.kill(pid, signum)
        if record["State"]["Paused"]:
            self._cgroup(cid).thaw()
        if not _wait_pid(shim, timeout if timeout >= 0 else None):  # a negative timeout waits for ever
            linux.kill(pid, signal.SIGKILL)
            _wait_pid(shim, None)
        events.emit("container", "stop", cid, {"name": record["Name"][1:]})
        return cid

    def restart(self, ref, timeout=None):
        cid = self.stop(ref, timeout)
        self.start(cid)
        events.emit("container", "restart", cid, {"name": container.load(cid)["Name"][1:]})
        return cid

    def wait(self, ref):
        """Block until the container stops; return its exit code."""
        record = self.container(ref)
        if record["State"]["Running"]:
            _wait_pid(record.get("Shim", {}).get("Pid"), None)
        try:
            return self.container(record["Id"])["State"]["ExitCode"]
        except NotFound:  # removed as it exited (--rm): its last "die" event still has the code
            dies = [e for e in events.read() if e["Actor"]["ID"] == record["Id"] and e["Action"] == "die"]
            if not dies:
                raise
            return int(dies[-1]["Actor"]["Attributes"]["exitCode"])

    def _cgroup(self, cid):
        from .runtime.cgroups import Cgroup

        return Cgroup(cid)

    def pause(self, ref):
        record = self.container(ref)
        cid = record["Id"]
        if not record["State"]["Running"]:
            raise Conflict(f"Container {cid} is not running")
        if record["State"]["Paused"]:
            raise Conflict(f"Container {cid} is already paused")
        self._cgroup(cid).freeze()
        container.update(cid, lambda r: r["State"].update(Status="paused", Paused=True))
        events.emit("container", "pause", cid, {"name": record["Name"][1:]})
        return cid

    def unpause(self, ref):
        record = self.container(ref)
        cid = record["Id"]
        from .runtime import cgroups

        cgroups.require("freezer", "unpause", exit_code=1)
        if not record["State"]["Paused"]:
            raise Conflict(f"Container {cid} is not paused")
        self._cgroup(cid).thaw()
        container.update(cid, lambda r: r["State"].update(Status="running", Paused=False))
        events.emit("container", "unpause", cid, {"name": record["Name"][1:]})
        return cid

    def remove(self, ref, force=False, volumes=False):
        record = self.container(ref, damaged=True)
        cid = record["Id"]
        if record["State"]["Running"]:
            if not force:
                raise Conflict(f'cannot remove container "{record["Name"]}": container is running: '
                               "stop the container before removing or force remove")
            self.kill(cid)
            _wait_pid(record.get("Shim", {}).get("Pid"), None)
        self._remove_now(cid)
        if volumes:
            self.volumes.remove_anonymous(record)
        return cid

    def prune_containers(self, filters=()):
        """``docker container prune``: remove every stopped container, and the RUN step containers of
        killed builds even if they still run; return (IDs removed, bytes of their layers reclaimed)."""
        from .build.builder import orphaned, remove_orphan_scratch

        wanted = [f.partition("=")[::2] for f in filters]
        for key, _ in wanted:
            if key != "label":
                raise InvalidArgument(f"invalid filter '{key}'", 1)
        removed, reclaimed = [], 0
        for record in self.containers(all=True):
            labels = record["Config"].get("Labels") or {}
            if any(name not in labels or has_value and labels[name] != value
                   for name, has_value, value in (v.partition("=") for _, v in wanted)):
                continue
            build_orphan = orphaned(record)
            if record["State"]["Running"] and not build_orphan:
                continue
            size = _tree_size(container.directory(record["Id"]) + "/diff")
            try:
                self.remove(record["Id"], force=True, volumes=build_orphan)
            except NotFound:  # removed meanwhile (its --rm)
                continue
            removed.append(record["Id"])
            reclaimed += size
        remove_orphan_scratch()
        return removed, reclaimed

    def _remove_now(self, cid):
        record = container.load(cid)
        if record is None:
            return
        _undo_start(cid)
        container.remove_files(cid)
        events.emit("container", "destroy", cid, {"name": record["Name"][1:]})

    def rename(self, ref, new_name):
        if not ref or not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        cid = self.resolve_container(ref)
        with state.locked():
            name = self._claim_name(new_name, cid)
            record = container.load(cid)
            _refuse_damaged(record)
            old = record["Name"]
            record["Name"] = "/" + name
            container.save(record)
        events.emit("container", "rename", cid, {"name": name, "oldName": old})

    # Looking inside

    def logs(self, ref, follow=False, tail=None, since=None):
        """Yield (stream, text, time) from the container's json-file log."""
        record = self.container(ref, damaged=True)
        path = os.path.join(container.directory(record["Id"]), record["Id"] + "-json.log")
        # Kept open while following: a log that --rm deletes as the container exits stays readable.
        log = open(path, "rb") if os.path.exists(path) else None
        try:
            data = log.read() if log else b""
            complete = data.rfind(b"\n") + 1
            entries = list(_log_entries(data[:complete].splitlines()))
            pending = data[complete:]
            if tail is not None and tail >= 0:
                entries = entries[-tail:] if tail else []
            for entry in entries:
                if since is None or _entry_time(entry) >= since:
                    yield entry["stream"], entry["log"], entry["time"]
            while follow:
                try:
                    running = self.container(record["Id"], damaged=True)["State"]["Running"]
                except NotFound:  # removed as it exited (--rm)
                    running = False
                if log is None and os.path.exists(path):  # the shim made it after we looked
                    log = open(path, "rb")
                pending += log.read() if log else b""
                complete = pending.rfind(b"\n") + 1
                for entry in _log_entries(pending[:complete].splitlines()):
                    yield entry["stream"], entry["log"], entry["time"]
                pending = pending[complete:]
                if not running:
                    return
                time.sleep(0.1)
        finally:
            if log is not None:
                log.close()

    def top(self, ref, ps_args="-ef"):
        """Processes of the container as the host's ``ps`` shows them: (titles, rows)."""
        import subprocess

        record = self.container(ref)
        if not record["State"]["Running"]:
            raise Conflict(f"Container {record['Id']} is not running")
        pids = self._cgroup(record["Id"]).pids(record["State"]["Pid"])
        result = subprocess.run(["ps", *ps_args.split()], capture_output=True, text=True)
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or [""])[0]
            raise PydockError(f"ps: exit status {result.returncode}: {reason}")
        out = result.stdout.splitlines()
        titles = out[0].split()
        if "PID" not in titles:
            raise PydockError("Couldn't find PID field in ps output")
        pid_col = titles.index("PID")
        rows = []
        for line in out[1:]:
            fields = line.split(None, len(titles) - 1)
            if int(fields[pid_col]) in pids:
                rows.append(fields)
        return titles, rows

    def exec(self, ref, cmd, env=(), workdir=None, user=None, tty=False, detach=False, stdin=None,
             stdout=None, stderr=None):
        """Run ``cmd`` inside a running container; return the Popen of the exec helper."""
        import json

        from .runtime.spawn import helper

        record = self.container(ref)
        cid = record["Id"]
        if not record["State"]["Running"]:
            raise Conflict(f"container {cid} is not running")
        if record["State"]["Paused"]:
            raise Conflict(f"container {cid} is paused, unpause the container before exec")
        config = record["Config"]
        merged_env = _merge_env(config.get("Env") or [], list(env))
        spec = {"pid": record["State"]["Pid"], "args": list(cmd), "env": merged_env,
                "cwd": workdir or config.get("WorkingDir") or "/", "user": user or config.get("User") or "",
                "tty": tty, "detach": detach, "cgroups": list(self._cgroup(cid).dirs.values())}
        env_vars, fds = {}, []
        explain_r = None
        if explain.enabled():
            explain_r, explain_w = os.pipe()
            env_vars["PYDOCK_EXPLAIN_FD"] = str(explain_w)
            fds.append(explain_w)
        events.emit("container", "exec_start: " + " ".join(cmd), cid, {"name": record["Name"][1:]})
        process = helper("pydock_edu.runtime.exec", [json.dumps(spec)], env=env_vars, pass_fds=fds,
                         stdin=stdin, stdout=stdout, stderr=stderr)
        for fd in fds:
            os.close(fd)
        process.explain_fd = explain_r
        return process

    # A container's files (image/commit.py, image/changes.py, runtime/fsview.py, runtime/cp.py)

    def commit(self, ref, repository=None, message="", author="", changes=(), pause=True):
        """``docker commit``: a new image from the container's changes; return its ID."""
        from .image import commit

        return commit.commit(self, ref, repository, message, author, changes, pause)

    def diff(self, ref):
        """``docker diff``: the container's changes as (kind, path), kind ``A``, ``C`` or ``D``."""
        from .image import commit

        return commit.container_changes(self, ref)

    def export(self, ref, out):
        """``docker export``: the container's file system as a tar written to ``out``."""
        from .runtime import fsview

        record = self.container(ref)
        fsview.export(self, record, out)
        events.emit("container", "export", record["Id"], {"name": record["Name"].lstrip("/")})

    def copy(self, source, destination, follow=False, archive=False, stdin=None, stdout=None):
        """``docker cp SRC DEST`` (one of them ``CONTAINER:PATH``); return the bytes copied."""
        from .runtime import cp

        return cp.copy(self, source, destination, follow, archive, stdin, stdout)

    # Images

    def inspect_image(self, ref):
        """An image as ``docker image inspect`` shows it."""
        from .image import reference

        image_id = self.images.resolve(ref)
        config = self.images.config(image_id)
        tags = [reference.parse(t).familiar() for t in self.images.tags_of(image_id)]
        layers = self.images.layers(image_id)
        return {
            "Id": image_id, "RepoTags": tags, "RepoDigests": self.images.digests_of(image_id),
            "Parent": self.images.parent(image_id) or "", "Comment": config.get("comment", ""),
            "Created": config["created"] or ZERO, "DockerVersion": "", "Author": config.get("author", ""),
            "Config": config.get("config") or {}, "Architecture": config.get("architecture"),
            "Os": config.get("os"), "Size": self.images.size(image_id),
            "GraphDriver": {"Name": "overlay", "Data": {
                "LowerDir": ":".join(self.images.layer_dir(d) for d in reversed(layers[:-1])) if len(layers) > 1 else "",
                "UpperDir": self.images.layer_dir(layers[-1]) if layers else ""}},
            "RootFS": {"Type": "layers", "Layers": layers},
            "Metadata": {"LastTagTime": ""},
        }

    def image_rows(self, all=False, filters=(), repository=None, no_trunc=False):
        """Rows of ``docker images``: one per tag, ``<none>`` for untagged images.

        Without ``all``, untagged images that others were built on (a build's steps) are hidden;
        ``dangling=true`` shows only untagged images that nothing was built on.
        """
        from .cli.table import ago, human_size
        from .image import reference
        from .timefmt import parse_time

        wanted = dict(f.partition("=")[::2] for f in filters)
        for key in wanted:
            if key not in ("dangling", "reference", "label", "before", "since"):
                raise InvalidArgument(f"invalid filter '{key}'")
        if wanted.get("dangling", "true").lower() not in ("true", "false"):
            raise InvalidArgument(f"invalid filter 'dangling={wanted['dangling']}'")
        dangling_only = wanted.get("dangling", "").lower() == "true"
        limits = {key: parse_time(self.images.config(self.images.resolve(wanted[key]))["created"] or ZERO)
                  for key in ("before", "since") if key in wanted}
        now = time.time()
        rows = []
        for image_id in self.images.image_ids():
            config = self.images.healthy_config(image_id)
            if config is None:
                continue  # damaged (reported once) or removed meanwhile
            tags = self.images.tags_of(image_id)
            created = parse_time(config["created"] or ZERO)
            if not tags and (not all and self.images.children(image_id) or "dangling" in wanted and not dangling_only
                             or "reference" in wanted):
                continue  # hidden intermediate image; untagged, excluded by a filter
            if dangling_only and (tags or self.images.children(image_id)):
                continue
            if created >= limits.get("before", float("inf")) or created <= limits.get("since", float("-inf")):
                continue
            labels = (config.get("config") or {}).get("Labels") or {}
            if "label" in wanted:
                key, has_value, value = wanted["label"].partition("=")
                if key not in labels or has_value and labels[key] != value:
                    continue
            base = {"ID": image_id if no_trunc else image_id[7:19],
                    "CreatedSince": ago(created, now) if config["created"] else "N/A",
                    "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
                    "Size": human_size(self.images.size(image_id)), "Created": created, "Digest": "<none>"}
            digests = self.images.digests_of(image_id)
            for name in tags or [None]:
                if name is None:
                    row = dict(base, Repository="<none>", Tag="<none>")
                else:
                    ref = reference.parse(name)
                    row = dict(base, Repository=ref.repository, Tag=ref.tag)
                    match = [d for d in digests if d.split("@")[0] == ref.repository]
                    if match:
                        row["Digest"] = match[0].split("@")[1]
                if repository and not _repository_matches(row, repository):
                    continue
                if "reference" in wanted and not _repository_matches(row, wanted["reference"]):
                    continue
                rows.append(row)
        rows.sort(key=lambda r: r["Created"], reverse=True)
        return rows

    def image_history(self, ref, no_trunc=False):
        """Rows of ``docker history``: newest first, the image's ID on the top row, ``<missing>`` below."""
        from .cli.table import ago, human_size
        from .timefmt import parse_time

        image_id = self.images.resolve(ref)
        config = self.images.config(image_id)
        layers = list(self.images.layers(image_id))
        ids = self.images.history_ids(image_id)
        rows = []
        now = time.time()
        for index, entry in enumerate(config.get("history") or []):
            size = 0 if entry.get("empty_layer") or not layers else self.images.layer_size(layers.pop(0))
            created = parse_time(entry["created"]) if entry.get("created") else now
            created_by = entry.get("created_by", "")
            if not no_trunc and len(created_by) > 45:
                created_by = created_by[:44] + "…"
            rows.append({"CreatedSince": ago(created, now), "CreatedBy": created_by, "Size": human_size(size),
                         "Comment": entry.get("comment", ""), "Created": created,
                         "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))})
        rows.reverse()
        for row, history_id in zip(rows, ids):
            row["ID"] = history_id if (no_trunc or history_id == "<missing>") else history_id[7:19]
        return rows

    def build(self, context=".", output=None, **options):
        """``docker build``: an image from a Dockerfile, one layer per step; return its ID.

        ``output(text)`` receives the build's lines and the RUN output as it comes. The options
        (``dockerfile``, ``dockerfile_text``, ``tags``, ``build_args``, ``target``, ``no_cache``,
        ``rm``, ``force_rm``, ``labels``, ``network``, ``stdin``) are those of
        :func:`pydock_edu.build.builder.build`.
        """
        from .build.builder import build

        return build(self, context, output=output, **options)

    def tag_image(self, source, target):
        image_id = self.images.resolve(source)
        self.images.tag(image_id, target)
        events.emit("image", "tag", image_id, {"name": target})

    def remove_image(self, ref, force=False, prune=True):
        """``docker rmi``: untag a name, or delete the image; the lines it prints (see image/remove.py)."""
        from .image import remove

        return remove.remove(self, ref, force, prune)

    def prune_images(self, all=False, filters=()):
        """``docker image prune``: (lines untagged/deleted, bytes reclaimed)."""
        from .image import remove

        return remove.prune(self, all, filters)

    def save_images(self, names, out):
        """``docker save``: the named images as one tarball written to ``out`` (see image/archive.py)."""
        from .image import archive

        archive.save(self, names, out)

    def load_images(self, stream):
        """``docker load``: the images of the tarball read from ``stream``; the lines it prints."""
        from .image import archive

        return archive.load(self, stream)

    # Registries (image/distribution.py, image/registry.py, image/auth.py)

    def pull(self, name, all_tags=False, progress=None):
        """``docker pull``; ``progress`` gets each step (see image/distribution.py). Returns the reference."""
        from .image import distribution

        pulled = distribution.pull(self.images, name, all_tags, progress)
        events.emit("image", "pull", pulled, {"name": pulled})
        return pulled

    def push(self, name, all_tags=False, progress=None):
        """``docker push`` of a local tag (every tag of the repository with ``all_tags``)."""
        from .image import distribution

        pushed = distribution.push(self.images, name, all_tags, progress)
        events.emit("image", "push", pushed, {"name": pushed})
        return pushed

    def login(self, server, username, password):
        """``docker login``: check the credentials with the registry, then store them."""
        from .image import registry

        return registry.login(server, username, password)

    def search(self, term, limit=25, filters=()):
        """``docker search``: rows of Docker Hub's search, or of a registry's catalog."""
        from .image import registry

        return registry.search(term, limit, filters)

    # The system

    def info(self):
        from . import system

        return system.info(self)

    def version(self):
        from . import system

        return system.version()


class Attachment:
    """The client end of a container's attach stream (see :mod:`.runtime.attach`)."""

    def __init__(self):
        self.sock = None
        self.explain_fd = None

    def relay(self, output, stdin_fd=None):
        """Copy output to ``output(stream, bytes)`` and stdin in; return the exit code (or None)."""
        from .runtime import attach

        try:
            return attach.relay(self.sock, output, stdin_fd)
        finally:
            self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.explain_fd is not None:
            _relay_explain(self.explain_fd, block=True)
            os.close(self.explain_fd)
            self.explain_fd = None


# Helpers


def _require_privileges():
    """Refuse, with the reason, to start containers where the kernel will not let us (unless recording)."""
    from .runtime import linux

    if os.geteuid() != 0 and not linux.RECORD_ONLY:
        from .system import missing_privileges

        raise PydockError("containers cannot run on this host: " + "; ".join(missing_privileges())
                          + ". Add --explain (pydock --explain run ...) to see the steps without making them")


def _refuse_damaged(record):
    if record and record.get("Damaged"):
        raise Conflict(f"container {record['Id'][:12]} has a damaged record ({record['Damaged']}): "
                       "it can only be removed (rm -f)")


def _check_limits(host):
    """Refuse, before anything is made, a limit the kernel would refuse when the container starts."""
    memory, nano_cpus, pids = host.get("Memory") or 0, host.get("NanoCpus") or 0, host.get("PidsLimit") or 0
    for key, value in (("Memory", memory), ("NanoCpus", nano_cpus), ("PidsLimit", pids)):
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INT64:
            raise InvalidArgument(f"invalid {key}: {value!r} is not a 64-bit integer")
    if memory and memory < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if nano_cpus and not MIN_NANO_CPUS <= nano_cpus <= os.cpu_count() * 10**9:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {os.cpu_count()}.00, as there are only "
                              f"{os.cpu_count()} CPUs available")
    if pids > MAX_PIDS_LIMIT:
        raise InvalidArgument(f"invalid pids limit {pids}: the kernel allows at most {MAX_PIDS_LIMIT} "
                              "(-1 or 0 for unlimited)")


def _require_cgroup_limits(host):
    """Refuse -m, --cpus and --pids-limit in one line where the host lacks their cgroup controller."""
    from .runtime import cgroups

    cgroups.require_limits(host.get("Memory") or 0, host.get("NanoCpus") or 0, host.get("PidsLimit") or 0)


def parse_signal(sig):
    """A signal given as ``KILL``, ``SIGKILL`` or ``9``."""
    import signal

    if isinstance(sig, int):
        return sig
    text = str(sig).upper()
    if text.isdigit():
        if not 0 < int(text) <= signal.SIGRTMAX:
            raise InvalidArgument(f"Invalid signal: {sig}")
        return int(text)
    try:
        return signal.Signals[text if text.startswith("SIG") else "SIG" + text].value
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {sig}") from None


def _merge_env(base, extra):
    """Environment lists merged by variable name, later entries winning."""
    merged = {}
    for item in [*base, *extra]:
        key = item.split("=", 1)[0]
        merged[key] = item
    return list(merged.values())


def _merge_config(body, image):
    """The container's Config: the image's defaults overridden by what the user asked for."""
    config = {key: body[key] for key in ("Hostname", "Domainname", "User", "Tty", "OpenStdin", "StdinOnce",
                                         "AttachStdin", "AttachStdout", "AttachStderr", "StopSignal",
                                         "StopTimeout") if body.get(key) is not None}
    config["Env"] = _merge_env(image.get("Env") or [], body.get("Env") or [])
    config["WorkingDir"] = body.get("WorkingDir") or image.get("WorkingDir") or ""
    config["User"] = body.get("User") or image.get("User") or ""
    config["Labels"] = {**(image.get("Labels") or {}), **(body.get("Labels") or {})}
    config["ExposedPorts"] = {**(image.get("ExposedPorts") or {}), **(body.get("ExposedPorts") or {})}
    config["Volumes"] = {**(image.get("Volumes") or {}), **(body.get("Volumes") or {})}
    config["StopSignal"] = body.get("StopSignal") or image.get("StopSignal")
    if body.get("Healthcheck") or image.get("Healthcheck"):
        config["Healthcheck"] = body.get("Healthcheck") or image["Healthcheck"]
    if body.get("Entrypoint") is not None:
        entrypoint = body["Entrypoint"]
        cmd = body.get("Cmd") or []
    else:
        entrypoint = image.get("Entrypoint") or []
        cmd = body.get("Cmd") if body.get("Cmd") else image.get("Cmd") or []
    config["Entrypoint"], config["Cmd"] = entrypoint or None, cmd or None
    command = [*(entrypoint or []), *(cmd or [])]
    config["Path"], config["Args"] = (command[0], command[1:]) if command else ("", [])
    config["Image"] = body.get("Image")
    return config


def _new_record(cid, name, image_id, image_name, config, host, path, images):
    path_, args = config.pop("Path"), config.pop("Args")
    lower = ":".join(images.layer_dir(d) for d in reversed(images.layers(image_id)))
    return {
        "Id": cid, "Created": format_time(), "Path": path_, "Args": args,
        "State": {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
                  "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
                  "StartedAt": ZERO, "FinishedAt": ZERO},
        "Image": image_id, "ImageName": image_name,
        "ResolvConfPath": f"{path}/resolv.conf", "HostnamePath": f"{path}/hostname",
        "HostsPath": f"{path}/hosts", "LogPath": f"{path}/{cid}-json.log",
        "Name": "/" + name, "RestartCount": 0, "Driver": "overlay", "Platform": "linux",
        "HostConfig": {"Memory": 0, "NanoCpus": 0, "PidsLimit": 0, "AutoRemove": False,
                       "PortBindings": {}, "Binds": [], "LogConfig": {"Type": "json-file", "Config": {}},
                       **host},
        "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": lower, "UpperDir": f"{path}/diff",
                                                     "WorkDir": f"{path}/work", "MergedDir": f"{path}/merged"}},
        "Mounts": [],
        "Config": config,
        "NetworkSettings": {"Networks": {}, "Ports": {}},
    }


def _write_etc_files(path, hostname, network_mode):
    """The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, bind-mounted at start."""
    import re

    with open(f"{path}/hostname", "w") as f:
        f.write(hostname + "\n")
    if network_mode == "host":
        hosts = _read("/etc/hosts")
    else:
        hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
    with open(f"{path}/hosts", "w") as f:
        f.write(hosts)
    resolv = _read("/etc/resolv.conf")
    if network_mode != "host":  # a loopback resolver of the host is unreachable from a container
        resolv = "".join(line + "\n" for line in resolv.splitlines()
                         if not re.match(r"\s*nameserver\s+(127\.|::1)", line))
    with open(f"{path}/resolv.conf", "w") as f:
        f.write(resolv)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _tree_size(path):
    """Bytes of the files under ``path`` (not following symbolic links)."""
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                pass
    return total


def _undo_start(cid):
    """Remove whatever a start left of a container that does not run: processes still in its cgroup
    (a start cut short), the cgroup, and its addresses, port rules and veths on every network."""
    from .network import release_container
    from .runtime.cgroups import Cgroup

    cgroup = Cgroup(cid)
    if cgroup.exists():
        cgroup.kill_all()
        cgroup.remove()
    release_container(cid)


def _shim_alive(shim):
    """Whether the recorded shim process still exists (and is the same process, same boot)."""
    if not shim:
        return False
    from .runtime.shim import boot_id, process_start_time

    return shim.get("BootId") == boot_id() and process_start_time(shim["Pid"]) == shim["StartTime"]


def _wait_pid(pid, timeout):
    """Wait until process ``pid`` (not our child) exits; False on timeout."""
    import select

    if not pid:
        return True
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def _receive(sync, explain_fd):
    """Read one JSON line from the shim, relaying its explain steps meanwhile."""
    import select

    import json

    data = b""
    watch = [sync] + ([explain_fd] if explain_fd is not None else [])
    while not data.endswith(b"\n"):
        ready, _, _ = select.select(watch, [], [])
        if explain_fd in ready and not _relay_explain(explain_fd, block=False):
            watch.remove(explain_fd)
        if sync in ready:
            chunk = sync.recv(4096)
            if not chunk:
                break
            data += chunk
    if explain_fd is not None:
        _relay_explain(explain_fd, block=False)
    return json.loads(data) if data else {}


_explain_partial = {}


def _relay_explain(fd, block):
    """Pass steps written by a child process on to our explain sinks; False at end of file."""
    os.set_blocking(fd, block)
    alive = True
    try:
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not data:
                alive = False
                break
            text = _explain_partial.pop(fd, b"") + data
            *lines, rest = text.split(b"\n")
            _explain_partial[fd] = rest
            explain.relay(line.decode() for line in lines)
    finally:
        os.set_blocking(fd, True)
    return alive


def _repository_matches(row, pattern):
    """``docker images busybox`` / ``-f reference=busy*``: match the repository (and tag)."""
    import fnmatch

    name, tag = pattern, ""
    if ":" in pattern.rsplit("/", 1)[-1]:  # a tag; a ":" before the last "/" is a registry's port
        name, _, tag = pattern.rpartition(":")
    return fnmatch.fnmatch(row["Repository"], name) and (not tag or fnmatch.fnmatch(row["Tag"], tag))


def _log_entries(lines):
    """The entries of json-file log lines; a damaged line (a disk error, a full disk) is skipped."""
    import json

    from .timefmt import parse_time

    for line in lines:
        try:
            entry = json.loads(line)
            parse_time(entry["time"])
            if isinstance(entry["stream"], str) and isinstance(entry["log"], str):
                yield entry
        except (ValueError, TypeError, KeyError):
            continue


def _entry_time(entry):
    from .timefmt import parse_time

    return parse_time(entry["time"])
