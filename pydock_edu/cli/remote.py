"""Registry commands: pull, push, login, logout, search; and the progress lines of pull and push.

(This module is not called ``registry``: ``cli/registry.py`` is where commands register.)
"""

from ..errors import InvalidArgument, NotFound, PydockError
from .flags import flag
from .main import is_terminal
from .registry import command

BAR_WIDTH = 50


class LineProgress:
    """Pull/push progress as plain lines, for a file or a pipe: each step once, no byte counts."""

    def __init__(self, stream):
        import threading

        self.stream = stream
        self.lock = threading.Lock()  # layers report from several threads

    def status(self, text):
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def layer(self, id, action, current=None, total=None):
        if current is None:
            self.status(f"{id}: {action}")


class TerminalProgress(LineProgress):
    """Docker's live display on a terminal: one line per layer, redrawn in place as it moves on.

    A layer's line is rewritten by moving the cursor up to it (``ESC[nA``), erasing it
    (``ESC[2K``), writing the new text and moving back down (``ESC[nB``).
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.rows = {}  # layer id -> the line it was first written on
        self.lines = 0

    def status(self, text):
        with self.lock:
            self.stream.write(text + "\n")
            self.lines += 1
            self.stream.flush()

    def layer(self, id, action, current=None, total=None):
        text = f"{id}: {action}"
        if current is not None and total:
            text += " " + progress_bar(current, total)
        with self.lock:
            if id not in self.rows:
                self.rows[id] = self.lines
                self.stream.write(text + "\n")
                self.lines += 1
            else:
                up = self.lines - self.rows[id]
                self.stream.write(f"\x1b[{up}A\r\x1b[2K{text}\r\x1b[{up}B")
            self.stream.flush()


def progress_bar(current, total):
    """``[=====>      ]  1.049MB/2.813MB``, as Docker draws it."""
    from .table import human_size

    filled = min(BAR_WIDTH, int(current * 100 / total) // 2)
    return (f"[{'=' * filled}>{' ' * (BAR_WIDTH - filled)}] "
            f"{human_size(current, 4):>8}/{human_size(total, 4)}")


def progress_for(stream):
    """Live lines on a terminal, plain lines elsewhere (a pipe, a file, a notebook's stream)."""
    return TerminalProgress(stream) if is_terminal(stream) else LineProgress(stream)


@command("pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry",
         [flag("-a, --all-tags", help="Download all tagged images in the repository"),
          flag("-q, --quiet", help="Suppress verbose output")], aliases=["image pull"], min_args=1, max_args=1)
def pull(ctx, options, args):
    from ..image import distribution, reference

    name = args[0]
    if options["quiet"]:
        progress = distribution.Progress()
    else:
        progress = progress_for(ctx.stdout)
        typed = reference.parse(name, default_tag=None)
        if not options["all_tags"] and not typed.tag and not typed.digest:
            progress.status(f"Using default tag: {reference.DEFAULT_TAG}")
    ctx.out(ctx.engine.pull(name, all_tags=options["all_tags"], progress=progress))


def pull_if_missing(ctx, name):
    """What ``docker run``/``create`` do with an image that is not here: say so, and pull it first."""
    from ..image import reference

    if not name:
        return  # the engine explains that an image name is needed
    try:
        ctx.engine.images.resolve(name)
        return
    except NotFound:
        pass
    ctx.err(f"Unable to find image '{reference.parse(name).familiar()}' locally")
    ctx.engine.pull(name, progress=progress_for(ctx.stderr))


@command("push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry",
         [flag("-a, --all-tags", help="Push all tags of an image to the repository"),
          flag("-q, --quiet", help="Suppress verbose output")], aliases=["image push"], min_args=1, max_args=1)
def push(ctx, options, args):
    from ..image import distribution

    progress = distribution.Progress() if options["quiet"] else progress_for(ctx.stdout)
    pushed = ctx.engine.push(args[0], all_tags=options["all_tags"], progress=progress)
    if options["quiet"]:
        ctx.out(pushed)


@command("login", "[OPTIONS] [SERVER]", "Log in to a registry",
         [flag("-u, --username", "str", help="Username"),
          flag("-p, --password", "str", help="Password"),
          flag("--password-stdin", help="Take the password from stdin")], max_args=1)
def login(ctx, options, args):
    from ..image import auth

    server = args[0] if args else None
    if server:
        _check_address(server)
    username, password = options["username"], options["password"]
    if options["password_stdin"]:
        if password:
            raise InvalidArgument("--password and --password-stdin are mutually exclusive")
        if not username:
            raise InvalidArgument("Must provide --username with --password-stdin")
        password = ctx.stdin.read().rstrip("\r\n")
    elif password:
        ctx.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    stored = auth.credentials(server)
    if not username and not password and stored:
        ctx.out(f"Authenticating with existing credentials... [Username: {stored[0]}]")
        username, password = stored
    if not username or not password:
        username, password = _prompt(ctx, username, password)
    ctx.engine.login(server, username, password)
    ctx.err(f"WARNING! Your credentials are stored unencrypted in '{auth.config_file()}'.")
    ctx.out("Login Succeeded")


def _check_address(server):
    """A registry address that cannot be parsed (``http://[::1``, a port out of range) is refused here."""
    from urllib.parse import urlsplit

    try:
        _ = urlsplit(server if "://" in server else "//" + server).port  # reading .port checks host and port
    except ValueError as e:
        raise InvalidArgument(f"invalid registry address {server!r}: {e}") from None


def _prompt(ctx, username, password):
    """Ask on the terminal for what the flags did not give."""
    import getpass

    if not is_terminal(ctx.stdin):
        raise PydockError("Cannot perform an interactive login from a non TTY device")
    if not username:
        ctx.stdout.write("Username: ")
        ctx.stdout.flush()
        username = ctx.stdin.readline().strip()
        if not username:
            raise PydockError("Username cannot be empty")
    if not password:
        password = getpass.getpass("Password: ")
        if not password:
            raise PydockError("Password Required")
    return username, password




@command("logout", "[SERVER]", "Log out from a registry", max_args=1)
def logout(ctx, options, args):
    from ..image import auth

    key = auth.server_key(args[0] if args else None)
    if auth.erase_credentials(key):
        ctx.out(f"Removing login credentials for {key}")
    else:
        ctx.out(f"Not logged in to {key}")


SEARCH_HEADERS = {"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS", "IsOfficial": "OFFICIAL",
                  "IsAutomated": "AUTOMATED"}
SEARCH_DEFAULT = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"
DESCRIPTION_WIDTH = 45


@command("search", "[OPTIONS] TERM", "Search Docker Hub for images",
         [flag("-f, --filter", "list", help="Filter output based on conditions provided"),
          flag("--format", "str", help="Pretty-print search using a Go template"),
          flag("--limit", "int", default=25, help="Max number of search results"),
          flag("--no-trunc", help="Don't truncate output")], min_args=1, max_args=1)
def search(ctx, options, args):
    from .table import render_table

    rows = []
    for row in ctx.engine.search(args[0], options["limit"], options["filter"]):
        description = row["Description"].replace("\r", " ").replace("\n", " ")
        if not options["no_trunc"] and len(description) > DESCRIPTION_WIDTH:
            description = description[:DESCRIPTION_WIDTH - 1] + "…"
        rows.append(dict(row, Description=description, StarCount=str(row["StarCount"]),
                         IsOfficial="[OK]" if row["IsOfficial"] else "",
                         IsAutomated="[OK]" if row["IsAutomated"] else ""))
    ctx.stdout.write(render_table(rows, [], options["format"] or SEARCH_DEFAULT, SEARCH_HEADERS))
