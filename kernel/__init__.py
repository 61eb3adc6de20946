"""taonet.kernel: the living system: actors, nng transport, wire, Wallet, node, Subtensor, Metagraph."""
