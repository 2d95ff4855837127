"""harness — pytest plugin, environments and the embedded local stack for end-to-end scenarios."""
