"""taonet.plugins: the subnet plugin contract (hookspecs, hookimpl), entry-point discovery, and the neuron loops."""
