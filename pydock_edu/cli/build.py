"""``pydock build`` (also ``builder build`` and ``image build``): an image from a Dockerfile.

The build itself is :meth:`pydock_edu.engine.Engine.build`; this module reads the flags and
prints the output as it comes. Kept light: ``cli/image.py`` imports it to register ``image build``.
"""

import os

from .flags import flag
from .registry import command

USAGE = "[OPTIONS] PATH | -"
HELP = "Build an image from a Dockerfile"
FLAGS = [
    flag("-t, --tag", "list", help="Name and optionally a tag in the 'name:tag' format", metavar="list"),
    flag("-f, --file", "str", help="Name of the Dockerfile (Default is 'PATH/Dockerfile')", metavar="string"),
    flag("--build-arg", "list", help="Set build-time variables", metavar="list"),
    flag("--target", "str", help="Set the target build stage to build.", metavar="string"),
    flag("--no-cache", help="Do not use cache when building the image"),
    flag("-q, --quiet", help="Suppress the build output and print image ID on success"),
    flag("--rm", default=True, help="Remove intermediate containers after a successful build (default true)"),
    flag("--force-rm", help="Always remove intermediate containers"),
    flag("--label", "list", help="Set metadata for an image", metavar="list"),
    flag("--network", "str", help='Set the networking mode for the RUN instructions during build '
                                  '(default "default")', metavar="string"),
]


@command("builder build", USAGE, HELP, FLAGS, aliases=["build"], min_args=1, max_args=1)
def build(ctx, options, args):
    from .. import errors
    from ..build.errors import BuildError

    quiet = options["quiet"]
    held = []  # with -q the output is shown only if the build fails

    def output(text):
        if quiet:
            held.append(text)
        else:
            ctx.stdout.write(text)
            ctx.stdout.flush()

    try:
        image_id = ctx.engine.build(
            args[0], output=output, dockerfile=options["file"], tags=_checked_tags(options["tag"]),
            build_args=dict(_build_arg(item) for item in options["build_arg"]), target=options["target"],
            no_cache=options["no_cache"], rm=options["rm"], force_rm=options["force_rm"],
            labels=dict(_label(item) for item in options["label"]), network=options["network"],
            stdin=getattr(ctx.stdin, "buffer", ctx.stdin))
    except errors.PydockError as e:
        if quiet:
            ctx.stderr.write("".join(held))
        if isinstance(e, BuildError):  # a failed step: Docker prints the message as it is
            ctx.err(str(e))
            return e.exit_code
        raise
    if quiet:
        ctx.out(image_id)
    return 0


def _checked_tags(tags):
    """``-t`` names, checked as the flag is read (docker/cli's validateTag): a bad one is a flag error, 125."""
    from ..errors import FlagError, PydockError
    from ..image import reference

    for tag in tags:
        try:
            reference.parse(tag)
        except PydockError as e:
            raise FlagError(f'invalid argument "{tag}" for "-t, --tag" flag: {e}') from None
    return tags


def _build_arg(item):
    """``NAME=value``, or ``NAME`` alone: the value of NAME in our environment, if it has one."""
    name, has_value, value = item.partition("=")
    return name, value if has_value else os.environ.get(name)


def _label(item):
    key, _, value = item.partition("=")
    return key, value
