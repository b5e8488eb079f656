"""`python -m pulumi_kubevirt.provider.plugin ENGINE_ADDRESS`: the plugin, as the console script runs it."""

from .server import main

main()
