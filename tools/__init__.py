"""taonet.tools: the `taonet` command: demo, benchmarks, and wallet, subnet and node commands as they come."""
