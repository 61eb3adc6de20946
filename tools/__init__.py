"""taonet.tools: the `taonet` command — demo, benchmarks, and (as the project grows) wallet, subnet and node commands."""
