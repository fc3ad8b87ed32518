"""`python -m reid` entry point."""

from reid.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
