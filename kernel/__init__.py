"""taonet.kernel: the living system — actors, nng transport, Synapse/Axon/Dendrite, Wallet, node, Subtensor, Metagraph."""
