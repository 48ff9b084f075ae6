"""Print msgload's own command-line options: `python -m users`.

Locust's `--help` lists only Locust's options; these come on top of them.
"""

from locust import events
from locust.argument_parser import LocustArgumentParser

import users  # noqa: F401 - registers every service's options


def main() -> None:
    parser = LocustArgumentParser(
        prog="locust -f locustfiles/<scenario>.py",
        usage="%(prog)s [Locust's options] [msgload's options]",
        description="msgload's options, on top of Locust's own (locust --help).",
        add_help=False,
    )
    events.init_command_line_parser.fire(parser=parser)
    parser.print_help()


if __name__ == "__main__":
    main()
