"""`python -m taonet.tools` runs the `taonet` command."""

from ._entry import main

main()
