"""taonet.subnets: built-in subnets, each an ordinary plugin registered by entry point."""
