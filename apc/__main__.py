"""``python -m apc``: the same as the ``apc`` command."""

from apc.cli import main

if __name__ == "__main__":
    main()
