"""`python -m gaikan.service` runs the `gaikan` command line."""

from gaikan.service.cli import main

main()
