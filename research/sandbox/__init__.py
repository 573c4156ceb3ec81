"""Offline MPP gateway + Tempo chain imitating clado.mpp.paywithlocus.com (no Django imports).

from research.sandbox import Sandbox
with Sandbox(port=0) as sb:          # gateway at sb.url/clado/<endpoint>, chain at sb.rpc_url
    ...
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
