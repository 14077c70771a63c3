"""Where the target runs besides loopback: container images and the single-node Kubernetes."""
