"""The embedded MQTT 5 broker that `telecare demo` starts when no broker URL is configured.

It exists so the demo runs on a machine without Mosquitto: PyPI has no maintained pure-Python
MQTT 5 broker (amqtt speaks 3.1.1 only). It keeps everything in memory and supports only what
the service and the simulator use (QoS 0/1). Production deployments use Mosquitto or EMQX.
"""

from telecare.broker._server import EmbeddedBroker

__all__ = ["EmbeddedBroker"]
