"""`python -m taonet.tools` runs the `taonet` command."""

from .cli import main

main()
