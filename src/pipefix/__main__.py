"""`python -m pipefix` runs the command line."""

from pipefix.cli import main

if __name__ == "__main__":
    main()
