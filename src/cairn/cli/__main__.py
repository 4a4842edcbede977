"""Run the command-line interface with `python -m cairn.cli`."""

from cairn.cli.main import main

if __name__ == "__main__":
    main()
