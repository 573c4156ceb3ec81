"""Offline MPP gateway + Tempo chain imitating clado.mpp.paywithlocus.com (no Django imports).

from research.sandbox import Sandbox
with Sandbox(port=0) as sb:          # gateway at sb.url/clado/<endpoint>, chain at sb.rpc_url
    sb.gateway.inject("deep-research-status", "reject_402_after_broadcast")  # see .faults
    with sb.rpc_outage():            # sb.rpc_url answers 503; the gateway settles on
        ...                          # sb.gateway_rpc_url regardless

Modules: server (HTTP wiring, RPC outage), gateway (the MPP front), faults (names,
queue), challenges (hostile 402s), clado_sim (bodies, prices, endpoints), jobs (a job
over time), profiles (fake results), chain (ledger + JSON-RPC), transactions (raw 0x76),
params (chain constants), clock (simulated time).
"""

from .chain import (
    CHAIN_ID,
    GAS_PRICE,
    GAS_USED,
    PATH_USD,
    TX_FEE,
    USDC_E,
    Chain,
    RpcError,
    Transfer,
)
from .clock import SimulatedClock
from .gateway import DEFAULT_REALM, FAULTS, GATEWAY_RECIPIENT, Gateway, Job
from .server import Sandbox

__all__ = [
    "CHAIN_ID",
    "DEFAULT_REALM",
    "FAULTS",
    "GAS_PRICE",
    "GAS_USED",
    "GATEWAY_RECIPIENT",
    "PATH_USD",
    "TX_FEE",
    "USDC_E",
    "Chain",
    "Gateway",
    "Job",
    "RpcError",
    "Sandbox",
    "SimulatedClock",
    "Transfer",
]
