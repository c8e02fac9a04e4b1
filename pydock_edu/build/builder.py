"""``pydock build``: a Dockerfile becomes an image, one instruction at a time.

The builder has the shape of Docker's legacy builder, the one the tutorial describes:

* ``FROM`` picks the base image (``scratch``: no layers at all) and runs the base image's
  ONBUILD triggers, as if they were written right after the FROM.
* Every other instruction makes a new image whose parent is the image before it. The chain of
  these intermediate images is the build cache (:mod:`.cache`): before doing a step, the builder
  asks whether this parent already has a child made by the same step (``---> Using cache``).
* ``RUN`` creates a container from the current image and runs the command in it; the container's
  upper directory (everything the command wrote, see :mod:`pydock_edu.runtime.rootfs`) becomes
  the new layer. Then the intermediate container is removed; the intermediate image stays.
* ``COPY`` and ``ADD`` write their files straight into a new layer directory (no container, as
  in Docker), and so does ``WORKDIR`` for a directory the image lacks.
* The other instructions (ENV, CMD, EXPOSE, LABEL, USER, ...) change only the image config. The
  new image shares its parent's layers, and its history entry says ``empty_layer``. Docker's
  legacy builder creates a container for these steps too, never starts it, and commits it
  unchanged; pydock skips that container but prints the same lines, so the output reads as
  the tutorial shows it.

The output is the legacy builder's: ``Step N/M : INSTRUCTION``, `` ---> Running in <id>``,
``Removing intermediate container <id>``, `` ---> Using cache``, `` ---> <image id>``. Every step
and every layer committed is also an engine event (``image step``, ``image layer``).
"""

import codecs
import contextlib
import json
import os
import posixpath
import stat
import time

from .. import events, explain, state
from ..errors import InvalidArgument, NotFound, PydockError
from ..timefmt import format_time
from . import cache as build_cache
from . import dockerfile as parser
from .config import DEFAULT_SHELL, apply_instruction, command_words, env_dict
from .errors import BuildError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Files and directories the runtime makes in a container's root to mount things on: they are
# not the command's doing, so they stay out of the layer a RUN commits.
RUNTIME_MOUNT_POINTS = ("etc/hostname", "etc/hosts", "etc/resolv.conf", "proc", "sys", "dev")
RUNTIME_PARENTS = ("etc", "tmp")
# Flags the parser knows from BuildKit's grammar that the legacy builder refuses.
# On every RUN step's container: which process builds with it (boot ID, PID, start time), so that a
# container whose build was killed can be told from one a build still uses, and removed.
BUILDER_LABEL = "io.pydock.build.builder"
BUILDKIT_ONLY = {"run": ("mount", "network", "security"), "copy": ("link", "parents", "exclude"),
                 "add": ("link", "keep-git-dir", "checksum", "unpack", "exclude")}


def build(engine, context=".", dockerfile=None, dockerfile_text=None, tags=(), build_args=None,
          target=None, no_cache=False, rm=True, force_rm=False, labels=None, network=None, stdin=None,
          output=None):
    """Build an image from a Dockerfile; return its ID.

    ``context`` is a directory or ``-`` (``stdin`` then holds a Dockerfile or a tar context);
    ``dockerfile`` is the ``-f`` file and ``dockerfile_text`` a Dockerfile given as text.
    ``build_args`` maps names to values (None: use the Dockerfile's default). ``output(text)``
    receives the build's lines and the RUN commands' output as they come.
    """
    from ..image import reference
    from .context import open_context

    names = [reference.parse(tag) for tag in tags]  # a bad -t fails before anything is built
    if any(name.digest for name in names):
        raise InvalidArgument("refusing to create a tag with a digest reference")
    say = output or (lambda text: None)
    remove_orphans(engine)
    build_context = open_context(context, dockerfile, dockerfile_text, stdin)
    try:
        parsed = parser.parse(build_context.dockerfile_text, build_context.dockerfile_name)
        builder = Builder(engine, build_context, parsed, say, dict(build_args or {}), no_cache=no_cache,
                          rm=rm or force_rm, force_rm=force_rm, network=network)
        try:
            image_id = builder.run(target, dict(labels or {}))
        finally:
            with contextlib.suppress(OSError):  # kept while another build of this process uses it
                os.rmdir(builder.workdir)
    finally:
        build_context.close()
    say(f"Successfully built {image_id[7:19]}\n")
    for tag, name in zip(tags, names):
        engine.tag_image(image_id, tag)
        say(f"Successfully tagged {name.familiar()}\n")
    return image_id


class StageState:
    """Where one build stage stands: its current image and the config being built."""

    def __init__(self, name, image_id, image, config):
        self.name = name
        self.image_id = image_id  # None while a stage FROM scratch has made no image yet
        self.image = image  # the current image's config document (rootfs, history, config)
        self.config = config  # the container config of the image being built
        self.author = ""
        self.args = {}  # ARGs declared in this stage: name -> value or None
        self.cmd_set = False  # a CMD of this stage: a later ENTRYPOINT keeps it
        self.key = ""  # the cache key of the step being made
        self.cached = False  # the last step came from the cache

    def expansion_env(self):
        """Variables for ``$VAR`` in instructions: the stage's ARGs, overridden by ENV."""
        env = {name: value for name, value in self.args.items() if value is not None}
        env.update(env_dict(self.config))
        return env

    def run_args(self):
        """``NAME=value`` of the ARGs a RUN sees as environment (those no ENV overrides)."""
        env = env_dict(self.config)
        return sorted(f"{name}={value}" for name, value in self.args.items()
                      if value is not None and name not in env)

    def shell(self):
        return " ".join(self.config.get("Shell") or DEFAULT_SHELL)


class Builder:
    """One build: the context, the parsed Dockerfile and the options, then :meth:`run`."""

    def __init__(self, engine, context, parsed, say, build_args, no_cache=False, rm=True,
                 force_rm=False, network=None):
        self.engine, self.images = engine, engine.images
        self.context, self.parsed, self.say = context, parsed, say
        self.build_args = build_args
        self.no_cache, self.rm, self.force_rm, self.network = no_cache, rm, force_rm, network
        self.cache = build_cache.BuildCache(self.images)
        self.declared = set()  # every ARG name the Dockerfile declares
        self.stages = []  # finished stages, for FROM <stage> and COPY --from
        self.meta_args = {}
        self.network_ready = network in ("none", "host") or (network or "").startswith("container:")
        # This builder's own scratch directory: a killed build's is found by its name and removed.
        self.workdir = state.path("builder", _this_builder().replace(":", "_"))
        os.makedirs(self.workdir, mode=0o700, exist_ok=True)

    def run(self, target, labels):
        """Build every stage up to ``target`` (or the last); return the final image's ID."""
        stages = list(self.parsed.stages)
        if target:
            names = [stage.name for stage in stages]
            if target.lower() not in names:
                raise BuildError(f"failed to reach build target {target} in Dockerfile")
            stages = stages[:names.index(target.lower()) + 1]
        if not any(i.cmd == "run" for stage in stages for i in stage.instructions):
            self.network_ready = True  # no RUN: no container will need a network
        label_steps = [_label_instruction(key, value) for key, value in sorted(labels.items())]
        total = sum(1 + len(stage.instructions) for stage in stages) + len(label_steps)
        self.meta_args = self._meta_args()
        number = 0
        for index, stage in enumerate(stages):
            number += 1
            self.say(f"Step {number}/{total} : {stage.from_instruction.original}\n")
            current = self._begin_stage(stage)
            self.say(f" ---> {_short(current.image_id)}\n")
            for instruction in stage.instructions + (label_steps if index == len(stages) - 1 else []):
                number += 1
                self.say(f"Step {number}/{total} : {instruction.original}\n")
                self._dispatch(current, instruction, f"{number}/{total}")
                self.say(f" ---> {_short(current.image_id)}\n")
            self.stages.append(current)
        unused = sorted(set(self.build_args) - self.declared)
        if unused:
            self.say(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        for warning in self.parsed.warnings:
            self.say(f"[WARNING]: {warning}\n")
        if not self.stages[-1].image_id:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        return self.stages[-1].image_id

    # Stages and arguments

    def _meta_args(self):
        """The ARGs before the first FROM: usable in FROM lines, and inherited by ``ARG NAME``."""
        values = {}
        for instruction in self.parsed.args_before_from:
            known = {name: value for name, value in values.items() if value is not None}
            for name, default in self._expanded(instruction, parser.parse_arg_pairs, known):
                self.declared.add(name)
                given = self.build_args.get(name)
                values[name] = given if given is not None else default
        return values

    def _begin_stage(self, stage):
        """FROM: start from a previous stage, an image, or scratch; run the base's ONBUILD triggers."""
        known = {name: value for name, value in self.meta_args.items() if value is not None}
        base = self._expanded(stage.from_instruction, lambda i, env: parser.expand(stage.base, env, i.escape),
                              known)
        earlier = next((s for s in reversed(self.stages) if s.name and s.name == base.lower()), None)
        if base.lower() == "scratch":
            image_id, image = None, {}
        elif earlier is not None:
            image_id, image = earlier.image_id, earlier.image
        else:
            try:
                image_id = self.images.resolve(base)
            except NotFound:  # as Docker does: pull the base image, its progress in the build's output
                image_id = self.images.resolve(self.engine.pull(base, progress=_PullProgress(self.say)))
            image = self.images.config(image_id)
        config = _clone(image.get("config") or {})
        env = config.get("Env") or []
        if not any(item.startswith("PATH=") for item in env):
            config["Env"] = [*env, f"PATH={DEFAULT_PATH}"]
        triggers = config.pop("OnBuild", None) or []
        current = StageState(stage.name, image_id, image, config)
        if triggers:
            self.say(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            for text in triggers:
                trigger = parser.parse_trigger(text, self.parsed.filename, stage.line)
                self._dispatch(current, trigger, "ONBUILD")
        return current

    def _expanded(self, instruction, function, env):
        """``function(instruction, env)``, its substitution errors naming the instruction's line."""
        try:
            return function(instruction, env)
        except parser.DockerfileSyntaxError as e:
            raise parser.DockerfileError(self.parsed.filename, instruction.line, str(e)) from None

    # Steps

    def _dispatch(self, current, instruction, step):
        for flag in BUILDKIT_ONLY.get(instruction.cmd, ()):
            if flag in instruction.flags:
                raise BuildError(f"the --{flag} option requires BuildKit, which pydock's builder does not have")
        handler = getattr(self, f"_do_{instruction.cmd}", None) or self._do_config
        current.cached = False
        try:
            handler(current, instruction)
        except parser.DockerfileSyntaxError as e:
            raise parser.DockerfileError(self.parsed.filename, instruction.line, str(e)) from None
        events.emit("image", "step", current.image_id or "", {
            "step": step, "instruction": instruction.original, "cache": "hit" if current.cached else "miss"})

    def _cached(self, current, created_by, config):
        """Take the image an identical step made before, if there is one (and caching is on)."""
        current.key = build_cache.step_key(current.image_id, created_by, config)
        hit = None if self.no_cache else self.cache.lookup(current.key)
        if hit is None:
            self._prepare_network()
            return False
        self.say(" ---> Using cache\n")
        current.image_id, current.image = hit, self.images.config(hit)
        current.config = _clone(current.image.get("config") or {})
        current.cached = True
        return True

    def _prepare_network(self):
        """At the first step that is not cached: start loading the netlink library in the background,
        so a RUN container's veth pair does not wait for it (the steps before RUN overlap with it)."""
        if not self.network_ready and self.engine.default_network() != "none":
            from ..network import netlink

            netlink.preload()
        self.network_ready = True

    def _commit(self, current, created_by, config, upper=None, skip=()):
        """Make the step's image: the parent's layers (plus ``upper`` as a new layer, if it holds
        anything) and its history plus one entry. Record it in the cache."""
        now = time.time()
        diff_id = None
        if upper and _has_content(upper, skip):
            explain.step("layer", f"tar {upper}" + (f" (leaving out {', '.join(skip)})" if skip else "") +
                         ", sha256 of the tar = the layer's diff_id, unpack it into the layer store")
            diff_id = self.images.add_layer_from_dir(upper, skip)
        entry = {"created": format_time(now), "created_by": created_by}
        if current.author:
            entry["author"] = current.author
        if diff_id is None:
            entry["empty_layer"] = True
        from ..image.store import new_config

        layers = list((current.image.get("rootfs") or {}).get("diff_ids") or [])
        image = new_config(layers + ([diff_id] if diff_id else []), config,
                           [*(current.image.get("history") or []), entry], created=now)
        if current.author:
            image["author"] = current.author
        explain.step("image", f"write the image config ({len(image['rootfs']['diff_ids'])} layers, "
                              f"history + {created_by!r}); its sha256 is the image ID")
        image_id = self.images.put_config(image)
        if current.image_id:
            self.images.set_meta(image_id, parent=current.image_id)
        self.cache.record(current.key, image_id)
        if diff_id:
            events.emit("image", "layer", diff_id, {"image": image_id, "createdBy": created_by,
                                                     "size": str(self.images.layer_size(diff_id))})
        current.image_id, current.image, current.config = image_id, image, config

    def _commit_config(self, current, created_by, config):
        """A step that changes only the config: a new image with the same layers."""
        if self._cached(current, created_by, config):
            return
        container_id = os.urandom(6).hex()  # the container Docker would create and never start
        self.say(f" ---> Running in {container_id}\n")
        self._commit(current, created_by, config)
        if self.rm:
            self.say(f"Removing intermediate container {container_id}\n")

    def _do_config(self, current, instruction):
        """CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, VOLUME, USER, STOPSIGNAL, SHELL, ONBUILD, HEALTHCHECK."""
        env = current.expansion_env()
        config = _clone(current.config)
        previous_check = (config.get("Healthcheck") or {}).get("Test")
        apply_instruction(config, instruction, env)
        cmd = instruction.cmd
        if cmd == "entrypoint" and current.cmd_set:
            config["Cmd"] = current.config.get("Cmd")  # a CMD of this Dockerfile survives ENTRYPOINT
        if cmd == "stopsignal":
            from ..engine import parse_signal

            try:
                parse_signal(config["StopSignal"])
            except PydockError:
                raise parser.DockerfileSyntaxError(f"Invalid signal: {config['StopSignal']}") from None
        if cmd == "healthcheck" and previous_check and previous_check[0] != "NONE":
            self.say(f"Note: overriding previous HEALTHCHECK: [{' '.join(previous_check)}]\n")
        text = _describe(instruction, config, env)
        self._commit_config(current, f"{_shell(config)} #(nop)  {text}", config)
        if cmd == "cmd":
            current.cmd_set = True

    def _do_maintainer(self, current, instruction):
        current.author = instruction.args[0]
        self._commit_config(current, f"{current.shell()} #(nop)  MAINTAINER {current.author}", current.config)

    def _do_arg(self, current, instruction):
        pairs = parser.parse_arg_pairs(instruction, current.expansion_env())
        for name, default in pairs:
            self.declared.add(name)
            given = self.build_args.get(name)
            if given is not None:
                current.args[name] = given
            elif default is not None:
                current.args[name] = default
            else:
                current.args[name] = self.meta_args.get(name)
        words = " ".join(name if default is None else f"{name}={default}" for name, default in pairs)
        self._commit_config(current, f"{current.shell()} #(nop)  ARG {words}", current.config)

    def _do_workdir(self, current, instruction):
        from .imagefs import ImageFS, LayerWriter

        config = _clone(current.config)
        apply_instruction(config, instruction, current.expansion_env())
        created_by = f"{current.shell()} #(nop) WORKDIR {config['WorkingDir']}"
        if self._cached(current, created_by, config):
            return
        container_id = os.urandom(6).hex()  # as for config-only steps
        self.say(f" ---> Running in {container_id}\n")
        view = ImageFS.of_image(self.images, current.image_id)
        target = view.resolve(config["WorkingDir"])
        upper = None
        try:
            if not view.is_dir(target):
                upper = _new_dir(self.workdir, "layer-")
                LayerWriter(upper, view).make_dirs(target)
            self._commit(current, created_by, config, upper)
        finally:
            _remove_dir(upper)
        if self.rm:
            self.say(f"Removing intermediate container {container_id}\n")

    def _do_copy(self, current, instruction):
        self._copy(current, instruction)

    def _do_add(self, current, instruction):
        self._copy(current, instruction)

    def _copy(self, current, instruction):
        """COPY and ADD: gather the sources and their checksum, then write them into a new layer."""
        from .archive import ArchiveError
        from .context import ContextError
        from .copier import CopyError, ScratchTree, collect_sources, copy_sources, parse_chown
        from .imagefs import ImageFS, LayerWriter

        name = instruction.cmd.upper()
        env = current.expansion_env()
        words = [word if instruction.heredoc(word) else parser.expand(word, env, instruction.escape)
                 for word in instruction.args]
        *source_words, dest = words
        chown = parser.expand(instruction.flags.get("chown") or "", env, instruction.escape)
        chmod = instruction.flags.get("chmod")
        mode = _parse_chmod(chmod) if chmod else None
        absolute = dest if dest.startswith("/") else posixpath.normpath(
            posixpath.join(current.config.get("WorkingDir") or "/", dest)) + ("/" if dest.endswith("/") else "")
        scratch = ScratchTree(self.workdir)  # made when a source needs it (a here-document, a URL)
        upper = None
        try:
            try:
                tree = self._source_tree(current, instruction.flags.get("from"), env, instruction.escape)
                sources = collect_sources(
                    source_words, tree, scratch, heredoc_of=instruction.heredoc,
                    expand_heredoc=lambda text: parser.expand_heredoc(text, env, instruction.escape),
                    url_allowed=name == "ADD", unpack=name == "ADD" and tree is self.context)
            except (CopyError, ContextError, ArchiveError) as e:
                raise CopyError(f"{name} failed: {e}") from None
            if len(sources) > 1 and not dest.endswith("/"):
                raise CopyError(f"When using {name} with more than one source file, the destination must be "
                                "a directory and end with a /")
            checksum = build_cache.sources_checksum([source.checksum for source in sources])
            flags = (f"--chown={chown} " if chown else "") + (f"--chmod={chmod} " if chmod else "")
            created_by = f"{current.shell()} #(nop) {name} {flags}{checksum} in {dest} "
            if self._cached(current, created_by, current.config):
                return
            view = ImageFS.of_image(self.images, current.image_id)
            upper = _new_dir(self.workdir, "layer-")
            try:
                owner = parse_chown(chown, view) if chown else (0, 0)
                copy_sources(LayerWriter(upper, view), sources, absolute, owner, mode)
            except BuildError as e:
                raise CopyError(f"{name} failed: {e}") from None
            self._commit(current, created_by, current.config, upper)
        finally:
            _remove_dir(scratch.root)
            _remove_dir(upper)

    def _source_tree(self, current, source, env, escape):
        """Where COPY reads from: the context, or with ``--from`` a stage (name or index) or an image."""
        if not source:
            return self.context
        from .copier import CopyError, ImageTree

        source = parser.expand(source, env, escape)
        if current.name and source.lower() == current.name:
            raise CopyError(f"invalid from flag value {source}: refers to current build stage")
        stage = next((s for s in self.stages if s.name == source.lower()), None)
        if stage is None and source.isdigit():
            if int(source) >= len(self.stages):
                raise CopyError(f"invalid from flag value {source}: refers to a later or the current build stage")
            stage = self.stages[int(source)]
        if stage is not None:
            image_id = stage.image_id
        else:
            try:
                image_id = self.images.resolve(source)
            except NotFound:
                raise CopyError(f"invalid from flag value {source}: No such image: {source}") from None
        return ImageTree.of_image(self.images, image_id)

    def _do_run(self, current, instruction):
        """RUN: a container from the current image runs the command; its upper dir is the new layer."""
        command = _run_command(current, instruction)
        args = current.run_args()
        created_by = " ".join([f"|{len(args)}", *args, *command] if args else command)
        if self._cached(current, created_by, current.config):
            return
        if not current.image_id:
            raise BuildError(f'cannot RUN in an empty image (FROM scratch): exec: "{command[0]}": '
                             "no such file or directory")
        body = {"Image": current.image_id, "Cmd": command, "Entrypoint": [], "Env": args,
                "Healthcheck": {"Test": ["NONE"]}, "HostConfig": {"NetworkMode": self.network or "default"},
                "Labels": {BUILDER_LABEL: _this_builder()}}
        container_id = self.engine.create(body)
        self.say(f" ---> Running in {container_id[:12]}\n")
        try:
            code = self._run_attached(container_id)
        except PydockError:
            if self.force_rm:
                self.engine.remove(container_id, force=True, volumes=True)
            raise
        except BaseException:
            self.engine.remove(container_id, force=True, volumes=True)
            raise
        if code != 0:
            if self.force_rm:
                self.engine.remove(container_id, force=True, volumes=True)
            raise BuildError(f"The command '{' '.join(command)}' returned a non-zero code: {code}", code)
        from .imagefs import ImageFS

        upper = self.engine.container(container_id)["GraphDriver"]["Data"]["UpperDir"]
        skip = _runtime_leftovers(upper, ImageFS.of_image(self.images, current.image_id), current.config)
        self._commit(current, created_by, current.config, upper, skip)
        if self.rm:
            self.engine.remove(container_id, volumes=True)
            self.say(f"Removing intermediate container {container_id[:12]}\n")

    def _run_attached(self, container_id):
        """Start the container with its output streamed to ``say``; return its exit code."""
        from ..engine import Attachment

        attachment = Attachment()
        self.engine.start(container_id, attach=attachment)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        code = attachment.relay(lambda stream, data: self.say(decoder.decode(data)))
        rest = decoder.decode(b"", final=True)
        if rest:
            self.say(rest)
        return self.engine.wait(container_id) if code is None else code


class _PullProgress:
    """A pull's progress as plain lines of the build output (layers are fetched in threads)."""

    def __init__(self, say):
        import threading

        self.say, self.lock = say, threading.Lock()

    def status(self, text):
        with self.lock:
            self.say(text + "\n")

    def layer(self, id, action, current=None, total=None):
        if current is None:
            self.status(f"{id}: {action}")


# Helpers ---------------------------------------------------------------------------------------


def orphaned(record):
    """Whether a container is a RUN step's whose build is gone (killed: it never removed it)."""
    builder = ((record.get("Config") or {}).get("Labels") or {}).get(BUILDER_LABEL)
    return isinstance(builder, str) and not _builder_alive(builder.split(":"))


def remove_orphans(engine):
    """Remove what killed builds left: their RUN step containers (running or not) and their scratch
    directories (layers being written, downloaded sources); return the containers' IDs."""
    removed = []
    for record in engine.containers(all=True):
        if orphaned(record):
            try:
                engine.remove(record["Id"], force=True, volumes=True)
            except NotFound:  # removed meanwhile
                continue
            removed.append(record["Id"])
    remove_orphan_scratch()
    return removed


def remove_orphan_scratch():
    """Delete the scratch directories of killed builds (named after their builder process)."""
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(state.path("builder")):
            if name.count("_") == 2 and not _builder_alive(name.split("_")):
                explain.step("file", f"rm -r {state.path('builder', name)} (the scratch files of a killed build)")
                _remove_dir(state.path("builder", name))


def _builder_alive(fields):
    """Whether the process named by (boot ID, PID, start time) still runs."""
    from ..runtime.shim import boot_id, process_start_time

    if len(fields) != 3 or not fields[1].isdigit():
        return True  # not a builder's mark: never touched
    boot, pid, start = fields
    return boot == boot_id() and str(process_start_time(int(pid))) == start


def _this_builder():
    from ..runtime.shim import boot_id, process_start_time

    return f"{boot_id()}:{os.getpid()}:{process_start_time(os.getpid())}"



def _clone(config):
    """A deep copy of a config (a JSON document)."""
    return json.loads(json.dumps(config))


def _new_dir(parent, prefix):
    """A new private directory (mode 700) under ``parent`` for a layer being made."""
    path = os.path.join(parent, prefix + os.urandom(8).hex())
    os.mkdir(path, 0o700)
    return path


def _remove_dir(path):
    if path:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def _short(image_id):
    return image_id[7:19] if image_id else ""


def _shell(config):
    return " ".join(config.get("Shell") or DEFAULT_SHELL)


def _run_command(current, instruction):
    """The command a RUN executes: exec form as written, shell form through the image's SHELL.

    ``RUN <<EOF`` alone runs the here-document's body as the shell command; any other use of
    here-documents hands the whole text, bodies included, to the shell, which reads them itself.
    """
    if instruction.json or not instruction.heredocs:
        return command_words(instruction, current.config)
    text = instruction.args[0]
    only = instruction.heredoc(text.strip())
    if only is not None and len(instruction.heredocs) == 1:
        text = only.content
    else:
        text += "".join(f"\n{doc.content}{doc.name}" for doc in instruction.heredocs)
    return [*(current.config.get("Shell") or DEFAULT_SHELL), text]


def _describe(instruction, config, env):
    """The history text of a config-only step, as Docker's legacy builder writes it."""
    cmd = instruction.cmd
    expand = lambda word: parser.expand(word, env, instruction.escape)  # noqa: E731
    if cmd in ("cmd", "entrypoint"):
        return f"{cmd.upper()} {_go_list(config['Cmd' if cmd == 'cmd' else 'Entrypoint'])}"
    if cmd in ("env", "label"):
        pairs = parser.parse_env_pairs(instruction, env)
        return f"{cmd.upper()} " + " ".join(f"{key}={value}" for key, value in pairs)
    if cmd == "expose":
        return "EXPOSE " + " ".join(expand(word) for word in instruction.args)
    if cmd == "volume":
        return "VOLUME [" + " ".join(expand(word) for word in instruction.args) + "]"
    if cmd == "user":
        return f"USER {config['User']}"
    if cmd == "stopsignal":
        return f"STOPSIGNAL {config['StopSignal']}"
    if cmd == "shell":
        return "SHELL [" + " ".join(config["Shell"]) + "]"
    if cmd == "onbuild":
        return f"ONBUILD {instruction.args[0]}"
    return f"HEALTHCHECK {_go_healthcheck(config['Healthcheck'])}"


def _label_instruction(key, value):
    """A ``--label`` of the build: one more LABEL step at the end, its value never expanded."""
    quote = lambda text: "'" + text.replace("'", "'\\''") + "'"  # noqa: E731
    return parser.Instruction(cmd="label", args=[quote(key), quote(value)], original=f"LABEL {key}={value}")


def _parse_chmod(text):
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise BuildError(f"invalid chmod parameter: {text}")
    return mode


def _has_content(root, skip):
    """Whether a container's upper dir holds anything once ``skip`` is left out."""
    skip = set(skip)
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel + "/"
        if any(prefix + name not in skip for name in filenames + dirnames):
            return True
        dirnames[:] = []
    return False


def _runtime_leftovers(upper, view, config):
    """What the runtime, not the RUN command, left in a container's upper dir: paths to skip.

    The mount points of /etc/hostname, /etc/hosts, /etc/resolv.conf, /proc, /sys and /dev; /etc
    and /tmp when they hold nothing else and were made (or copied up) only for those; and what
    was written inside the image's VOLUMEs, which Docker discards.
    """
    skip = [rel for rel in RUNTIME_MOUNT_POINTS if os.path.lexists(os.path.join(upper, rel))]
    for rel in RUNTIME_PARENTS:
        path = os.path.join(upper, rel)
        if not os.path.isdir(path) or os.path.islink(path):
            continue
        if any(f"{rel}/{name}" not in skip for name in os.listdir(path)):
            continue
        ours, below = os.lstat(path), view.lstat(rel)
        if below is None or (stat.S_ISDIR(below.st_mode) and
                             (ours.st_mode, ours.st_uid, ours.st_gid) == (below.st_mode, below.st_uid, below.st_gid)):
            skip.append(rel)
    for volume in config.get("Volumes") or {}:
        rel = volume.strip("/")
        path = os.path.join(upper, rel)
        if rel and os.path.isdir(path) and not os.path.islink(path):
            skip += [f"{rel}/{name}" for name in os.listdir(path)]
    return skip


# How Go's fmt prints values in Docker's history texts ----------------------------------------

_RUNE_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 39: "\\'", 92: "\\\\"}


def _go_quote(text):
    return json.dumps(text, ensure_ascii=False)


def _go_list(words):
    """``%q`` of a string slice: ``["httpd" "-f"]``."""
    return "[" + " ".join(_go_quote(word) for word in words or []) + "]"


def _go_duration(nanoseconds):
    """A time.Duration as Go prints it: ``30s``, ``1m30s``, ``500ms``, ``0s``."""
    if nanoseconds == 0:
        return "0s"
    sign, value = ("-" if nanoseconds < 0 else ""), abs(nanoseconds)
    for unit, size in (("ns", 1), ("µs", 10**3), ("ms", 10**6)):
        if value < size * 1000:
            return sign + _decimal(value, size) + unit
    hours, rest = divmod(value, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + text + _decimal(rest, 10**9) + "s"


def _decimal(value, unit):
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    return f"{whole}." + f"{fraction:0{len(str(unit)) - 1}d}".rstrip("0")


def _go_rune(number):
    """``%q`` of an int: a Go rune literal such as ``'\\x03'``."""
    if number in _RUNE_ESCAPES:
        body = _RUNE_ESCAPES[number]
    elif 32 <= number < 127 or number > 160 and chr(number).isprintable():
        body = chr(number)
    elif number < 128:
        body = f"\\x{number:02x}"
    else:
        body = f"\\u{number:04x}"
    return f"'{body}'"


def _go_healthcheck(check):
    """``%q`` of Docker's HealthConfig: ``&{["CMD-SHELL" "curl -f localhost"] "30s" "3s" "0s" '\\x03'}``."""
    times = " ".join(_go_quote(_go_duration(check.get(key, 0))) for key in ("Interval", "Timeout", "StartPeriod"))
    return f"&{{{_go_list(check.get('Test'))} {times} {_go_rune(check.get('Retries', 0))}}}"
