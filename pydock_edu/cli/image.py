"""Image commands: ls, import, tag, rm, prune, inspect, history, save, load, and the built-in busybox bootstrap."""

from ..errors import InvalidArgument
from . import build as build_command
from .flags import flag
from .registry import command

IMAGES_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED",
                  "CreatedAt": "CREATED AT", "Size": "SIZE", "Digest": "DIGEST"}
IMAGES_DEFAULT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


@command("image ls", "[OPTIONS] [REPOSITORY[:TAG]]", "List images",
         [flag("-a, --all", help="Show all images (default hides intermediate images)"),
          flag("-q, --quiet", help="Only show image IDs"),
          flag("--digests", help="Show digests"),
          flag("--no-trunc", help="Don't truncate output"),
          flag("-f, --filter", "list", help="Filter output based on conditions provided"),
          flag("--format", "str", help="Format output using a custom template")],
         aliases=["images", "image list"], max_args=1)
def images(ctx, options, args):
    from .table import render_table

    rows = ctx.engine.image_rows(all=options["all"], filters=options["filter"],
                                 repository=args[0] if args else None, no_trunc=options["no_trunc"])
    if options["quiet"]:  # one line per row, as Docker prints it: an image with two tags appears twice
        ctx.stdout.write("".join(row["ID"] + "\n" for row in rows))
        return 0
    fmt = options["format"] or (IMAGES_DEFAULT.replace("{{.ID}}", "{{.Digest}}\t{{.ID}}")
                                if options["digests"] else IMAGES_DEFAULT)
    ctx.stdout.write(render_table(rows, [], fmt, IMAGES_HEADERS))


@command("image import", "[OPTIONS] file|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create "
         "a filesystem image", [flag("-c, --change", "list", help="Apply Dockerfile instruction to the created image"),
                                flag("-m, --message", "str", help="Set commit message for imported image")],
         aliases=["import"], min_args=1, max_args=2)
def import_(ctx, options, args):
    from ..image import importer

    with importer.open_source(args[0]) as stream:
        image_id = importer.import_tar(ctx.engine, stream, args[1] if len(args) > 1 else None, options["change"],
                                       options["message"] or "")
    ctx.out(image_id)


@command("image bootstrap", "busybox", "Build the built-in busybox image from the host's static busybox",
         [flag("-t, --tag", "str", default="busybox:latest", help="Name for the image")], min_args=1, max_args=1)
def bootstrap(ctx, options, args):
    from ..image.bootstrap import bootstrap_busybox

    if args[0] != "busybox":
        raise InvalidArgument(f"cannot bootstrap {args[0]!r}: only the built-in 'busybox' image can be made offline")
    ctx.out(bootstrap_busybox(ctx.engine, options["tag"]))


@command("image tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to "
         "SOURCE_IMAGE", aliases=["tag"], min_args=2, max_args=2)
def tag(ctx, options, args):
    ctx.engine.tag_image(args[0], args[1])


@command("image rm", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
         [flag("-f, --force", help="Force removal of the image"),
          flag("--no-prune", help="Do not delete untagged parents")], aliases=["rmi", "image remove"], min_args=1)
def remove(ctx, options, args):
    from .container import _each

    def remove_one(ref):
        for line in ctx.engine.remove_image(ref, force=options["force"], prune=not options["no_prune"]):
            ctx.out(line)

    return _each(ctx, args, remove_one, echo=False)


@command("image inspect", "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
         [flag("-f, --format", "str", help="Format output using a custom template")], min_args=1)
def inspect(ctx, options, args):
    from .container import print_inspect

    return print_inspect(ctx, args, ctx.engine.inspect_image, options["format"])


HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY", "Size": "SIZE",
                   "Comment": "COMMENT", "CreatedAt": "CREATED AT"}
HISTORY_DEFAULT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"


@command("image history", "[OPTIONS] IMAGE", "Show the history of an image",
         [flag("--no-trunc", help="Don't truncate output"), flag("-q, --quiet", help="Only show image IDs"),
          flag("-H, --human", default=True, help="Print sizes and dates in human readable format"),
          flag("--format", "str", help="Format output using a custom template")],
         aliases=["history"], min_args=1, max_args=1)
def history(ctx, options, args):
    from .table import render_table

    rows = ctx.engine.image_history(args[0], no_trunc=options["no_trunc"])
    if options["quiet"]:
        ctx.stdout.write("".join(row["ID"] + "\n" for row in rows))
        return 0
    ctx.stdout.write(render_table(rows, [], options["format"] or HISTORY_DEFAULT, HISTORY_HEADERS))


# ``image build`` is ``builder build`` (cli/build.py), registered here because ``image ...`` loads this module.
command("image build", build_command.USAGE, build_command.HELP, build_command.FLAGS, min_args=1,
        max_args=1)(build_command.build)


@command("image prune", "[OPTIONS]", "Remove unused images",
         [flag("-a, --all", help="Remove all unused images, not just dangling ones"),
          flag("-f, --force", help="Do not prompt for confirmation"),
          flag("--filter", "list", help='Provide filter values (e.g. "until=<timestamp>")')], max_args=0)
def prune(ctx, options, args):
    from .table import human_size

    if not options["force"]:
        warning = ("WARNING! This will remove all images without at least one container associated to them."
                   if options["all"] else "WARNING! This will remove all dangling images.")
        ctx.stdout.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
        ctx.stdout.flush()
        if ctx.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    lines, reclaimed = ctx.engine.prune_images(options["all"], options["filter"])
    if lines:
        ctx.stdout.write("Deleted Images:\n" + "".join(line[0].lower() + line[1:] + "\n" for line in lines) + "\n")
    ctx.out(f"Total reclaimed space: {human_size(reclaimed, 4)}")


@command("image save", "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to "
         "STDOUT by default)", [flag("-o, --output", "str", help="Write to a file, instead of STDOUT")],
         aliases=["save"], min_args=1)
def save(ctx, options, args):
    from .files import output_file

    with output_file(ctx, options["output"]) as out:
        ctx.engine.save_images(args, out)


@command("image load", "[OPTIONS]", "Load an image from a tar archive or STDIN",
         [flag("-i, --input", "str", help="Read from tar archive file, instead of STDIN"),
          flag("-q, --quiet", help="Suppress the load output")], aliases=["load"], max_args=0)
def load(ctx, options, args):
    from ..image.archive import open_input

    stream = open_input(options["input"], ctx.stdin)
    try:
        for line in ctx.engine.load_images(stream):
            ctx.out(line)
    finally:
        if options["input"]:
            stream.close()
