"""A scenario's forward proxy and the daemons' unit environment at boot.

The proxy is :class:`tests.harness.proxy.ConnectProxy` started inside the sandbox's
network namespace at :data:`~.scenario.PROXY_URL`; the names in the scenario's
``proxy_names`` resolve only there (the node's DNS does not know them), so a registry
behind it is reachable only through it. At boot systemd has read the units' drop-ins:
dockerd and containerd start with their ``Environment=`` (:mod:`.units`); ``ctr`` pulls
in its own process, with the user's shell environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.harness.proxy import ConnectProxy
from tests.scenarios.runtimes import units
from tests.scenarios.runtimes.scenario import PROXY_LOGIN, PROXY_PORT

if TYPE_CHECKING:
    from tests.scenarios.runtimes.world import World


def start(world: World) -> None:
    """Before the daemons serve pulls: the units' environment, ctr's, and the proxy."""
    scenario, sandbox = world.scenario, world.sandbox
    world.unit_env = {u: units.unit_environment(sandbox.etc, u) for u in units.UNITS}
    if world.containerd is not None:
        world.containerd.ctr_env = dict(scenario.user_env)
        if world.unit_env.get("containerd"):
            world._containerd_action("restart")  # started before the node's files were read
    if not scenario.proxy:
        return
    credentials = PROXY_LOGIN if scenario.proxy == "auth" else None

    def serve() -> ConnectProxy:
        # its socket and its tunnels' sockets live in the sandbox's namespace
        return ConnectProxy(
            scenario.proxy_names, scenario.proxy, credentials, port=PROXY_PORT
        ).start()

    proxy = sandbox.call(serve)
    sandbox.on_stop(proxy.stop)
    world.proxy = proxy
