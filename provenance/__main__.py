"""The ``provenance`` command and ``python -m provenance`` start here."""

import gc


def main() -> None:
    """Run the CLI with the cyclic garbage collector off while it starts.

    Start-up (imports, the command line, rules and trust lists) creates tens
    of thousands of objects that all live until exit, so every collection
    it triggers is wasted work: about a sixth of a one-file check.
    The root command switches the collector back on, with those objects
    frozen, before any command runs.
    """
    gc.disable()
    from provenance.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
