"""``python -m provenance`` behaves like the ``provenance`` command."""

from provenance.cli import main

if __name__ == "__main__":
    main()
