"""The native provider plugin `pulumi-resource-kubevirt`: the second adapter over core.ResourceKind.

The dynamic resources (provider/resources) need nothing installed; this plugin
serves the same kinds and reconcilers to the real engine as package `kubevirt`
(tokens `kubevirt:index:VirtualMachine`, ...), for any Pulumi language, with a
detailed diff, customTimeouts, `pulumi import`, explicit Provider instances and
as many concurrent operations as the engine schedules.

Modules: values (property values <-> plain data), config (provider config),
adapter (request translation), schema (GetSchema) do no I/O; server does
(the reconcilers, in a bounded pool). Importing any of them loads no backend
client (libvirt, kubernetes): kinds.py builds reconcilers on first use.
"""
