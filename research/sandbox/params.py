"""What the sandbox's Tempo chain is: its id, its TIP-20 tokens, its gas, the shape of a charge.

Shared by :mod:`research.sandbox.transactions` (decoding a raw transaction) and
:mod:`research.sandbox.chain` (the ledger and its JSON-RPC front), which re-exports them.
"""

from typing import Any

CHAIN_ID = 4217
USDC_E = "0x20c000000000000000000000b9537d11c60e8b50"
PATH_USD = "0x20c0000000000000000000000000000000000000"
TOKENS = (USDC_E, PATH_USD)
DECIMALS = 6
AUTO_FUND_AMOUNT = 1000_000000  # 1000 tokens of 6 decimals

# Gas prices on Tempo are attodollars (1e-18 USD) per gas; TIP-20 balances are
# microdollars (1e-6 USD). 1 gwei-ish per gas and a fixed 28_000 gas per transaction
# make every transaction cost 28 microdollars ($0.000028) in its fee token.
GAS_PRICE = 1_000_000_000
GAS_USED = 28_000
ESTIMATE_GAS = 28_000
ATTODOLLARS_PER_MICRODOLLAR = 10**12
#: Fee in microdollars (base units of the fee token) charged for every transaction.
TX_FEE = -(-GAS_USED * GAS_PRICE // ATTODOLLARS_PER_MICRODOLLAR)

TRANSFER_SELECTOR = "a9059cbb"
TRANSFER_WITH_MEMO_SELECTOR = "95777d59"
BALANCE_OF_SELECTOR = "70a08231"
DECIMALS_SELECTOR = "313ce567"
TRANSFER_WITH_MEMO_TOPIC = "0x57bc7354aa85aed339e000bccffabbc529466af35f0772c8f8ee1145927de7f0"
# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

GENESIS_BLOCK = 1_000_000


class RpcError(Exception):
    """A JSON-RPC error answer: the node refused the call (code and message as a node sends them)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
