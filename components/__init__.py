"""pulumi-kubevirt."""
