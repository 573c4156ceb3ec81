"""An in-memory Tempo chain answering the JSON-RPC calls pympp makes.

Only what an MPP charge needs: TIP-20 balances, type-0x76 transactions carrying
``transfer``/``transferWithMemo`` calls, receipts with Ethereum-shaped logs, blocks.
Pure Python; ``rlp``/``eth_account``/``eth_hash`` are imported lazily on the first
raw transaction, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CHAIN_ID = 4217
USDC_E = "0x20c000000000000000000000b9537d11c60e8b50"
PATH_USD = "0x20c0000000000000000000000000000000000000"
TOKENS = (USDC_E, PATH_USD)
AUTO_FUND_AMOUNT = 1000_000000  # 1000 tokens of 6 decimals

# Gas prices on Tempo are attodollars (1e-18 USD) per gas; TIP-20 balances are
# microdollars (1e-6 USD). 1 gwei-ish per gas and a fixed 28_000 gas per transaction
# make every transaction cost 28 microdollars ($0.000028) in its fee token.
GAS_PRICE = 1_000_000_000
GAS_USED = 28_000
ESTIMATE_GAS = 28_000
ATTODOLLARS_PER_MICRODOLLAR = 10**12

TRANSFER_SELECTOR = "a9059cbb"
TRANSFER_WITH_MEMO_SELECTOR = "95777d59"
BALANCE_OF_SELECTOR = "70a08231"
TRANSFER_WITH_MEMO_TOPIC = "0x57bc7354aa85aed339e000bccffabbc529466af35f0772c8f8ee1145927de7f0"
# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

GENESIS_BLOCK = 1_000_000


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass
class Transfer:
    tx_hash: str
    sender: str
    recipient: str
    amount: int
    currency: str
    memo: str
    fee: int
    block_number: int
    timestamp: float


def _keccak(data: bytes) -> bytes:
    from eth_hash.auto import keccak

    return keccak(data)


def _hex(n: int) -> str:
    return hex(n)


def _addr(value: str) -> str:
    value = value.lower()
    if not value.startswith("0x"):
        value = "0x" + value
    return value


def _word(value: int | bytes | str) -> str:
    if isinstance(value, int):
        return "0x" + value.to_bytes(32, "big").hex()
    if isinstance(value, str):
        value = bytes.fromhex(value.removeprefix("0x"))
    return "0x" + value.rjust(32, b"\x00").hex()


def _block_hash(number: int) -> str:
    return "0x" + hashlib.sha256(b"sandbox-block:%d" % number).hexdigest()


class Chain:
    """Thread-safe in-memory ledger with a JSON-RPC front (:meth:`handle`)."""

    def __init__(self, chain_id: int = CHAIN_ID, now: Callable[[], float] = time.time) -> None:
        self.chain_id = chain_id
        self._now = now  # real time: validBefore and block timestamps
        self._lock = threading.RLock()
        self._balances: dict[tuple[str, str], int] = {}
        self._seen: set[str] = set()
        self.transfers: list[Transfer] = []
        self.receipts: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.blocks: list[dict[str, Any]] = []
        self.block_number = GENESIS_BLOCK
        self.fees_collected: int = 0
        self.rpc_calls: Counter[str] = Counter()  # method name -> times called

    # ----------------------------------------------------------------- ledger
    def _touch(self, address: str) -> str:
        address = _addr(address)
        if address not in self._seen:
            self._seen.add(address)
            for token in TOKENS:
                self._balances[(token, address)] = self._balances.get((token, address), 0) + AUTO_FUND_AMOUNT
        return address

    def balance_of(self, token: str, address: str) -> int:
        with self._lock:
            address = self._touch(address)
            return self._balances.get((_addr(token), address), 0)

    def fund(self, address: str, amount: int, token: str = USDC_E) -> None:
        with self._lock:
            address = self._touch(address)
            key = (_addr(token), address)
            self._balances[key] = self._balances.get(key, 0) + int(amount)

    def set_balance(self, address: str, amount: int, token: str = USDC_E) -> None:
        with self._lock:
            address = self._touch(address)
            self._balances[(_addr(token), address)] = int(amount)

    def transfers_by_hash(self, tx_hash: str) -> list[Transfer]:
        tx_hash = tx_hash.lower()
        with self._lock:
            return [t for t in self.transfers if t.tx_hash == tx_hash]

    # ------------------------------------------------------------- json-rpc
    def handle(self, payload: Any) -> Any:
        """Answer one JSON-RPC request object or a batch array."""
        if isinstance(payload, list):
            if not payload:
                return _error(None, -32600, "Invalid Request")
            return [self._handle_one(item) for item in payload]
        return self._handle_one(payload)

    def _handle_one(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(None, -32600, "Invalid Request")
        rid = request.get("id")
        method = request["method"]
        params = request.get("params") or []
        with self._lock:
            self.rpc_calls[method] += 1
        handler = getattr(self, "rpc_" + method, None)
        if handler is None:
            return _error(rid, -32601, f"the method {method} does not exist/is not available")
        try:
            result = handler(*params) if isinstance(params, list) else handler(**params)
        except RpcError as err:
            return _error(rid, err.code, err.message, err.data)
        except TypeError as err:
            return _error(rid, -32602, f"Invalid params: {err}")
        except Exception as err:  # noqa: BLE001 - report, never crash the server
            return _error(rid, -32603, f"Internal error: {err}")
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    # read-only methods
    def rpc_eth_chainId(self) -> str:
        return _hex(self.chain_id)

    def rpc_net_version(self) -> str:
        return str(self.chain_id)

    def rpc_eth_gasPrice(self) -> str:
        return _hex(GAS_PRICE)

    def rpc_eth_maxPriorityFeePerGas(self) -> str:
        return "0x0"

    def rpc_eth_estimateGas(self, *args: Any) -> str:
        return _hex(ESTIMATE_GAS)

    def rpc_eth_blockNumber(self) -> str:
        with self._lock:
            return _hex(self.block_number)

    def rpc_eth_getBalance(self, *args: Any) -> str:
        return "0x0"

    def rpc_eth_getTransactionCount(self, *args: Any) -> str:
        return "0x0"

    def rpc_eth_call(self, call: dict[str, Any], *args: Any) -> str:
        to = _addr(call.get("to") or "0x")
        data = (call.get("data") or call.get("input") or "0x").removeprefix("0x").lower()
        if to in TOKENS and data.startswith(BALANCE_OF_SELECTOR) and len(data) >= 8 + 64:
            holder = "0x" + data[8 + 24 : 8 + 64]
            return _word(self.balance_of(to, holder))
        if to in TOKENS and data.startswith("313ce567"):  # decimals()
            return _word(6)
        return "0x"

    def rpc_eth_getTransactionReceipt(self, tx_hash: str) -> dict[str, Any] | None:
        with self._lock:
            return self.receipts.get(str(tx_hash).lower())

    def rpc_eth_getTransactionByHash(self, tx_hash: str) -> dict[str, Any] | None:
        with self._lock:
            return self.transactions.get(str(tx_hash).lower())

    def rpc_eth_getBlockByNumber(self, tag: Any = "latest", full: bool = False) -> dict:
        with self._lock:
            if tag in ("latest", "pending", "safe", "finalized", None):
                number = self.block_number
            elif tag == "earliest":
                number = GENESIS_BLOCK
            else:
                number = int(tag, 16) if isinstance(tag, str) else int(tag)
            if number > self.block_number or number < GENESIS_BLOCK:
                return None  # type: ignore[return-value]
            for block in self.blocks:
                if block["_number"] == number:
                    txs = block["transactions"]
                    break
            else:
                txs = []
            return {
                "number": _hex(number),
                "hash": _block_hash(number),
                "parentHash": _block_hash(number - 1),
                "timestamp": _hex(int(self._block_time(number))),
                "gasLimit": _hex(500_000_000),
                "gasUsed": _hex(GAS_USED * len(txs)),
                "baseFeePerGas": _hex(GAS_PRICE),
                "transactions": [self.transactions[h] for h in txs] if full else list(txs),
            }

    def _block_time(self, number: int) -> float:
        for block in self.blocks:
            if block["_number"] == number:
                return block["_timestamp"]
        return self._now()

    # writes
    def rpc_eth_sendRawTransaction(self, raw: str) -> str:
        return self.submit(raw)["transactionHash"]

    def rpc_eth_sendRawTransactionSync(self, raw: str, timeout_ms: Any = None) -> dict:
        return self.submit(raw)

    # ----------------------------------------------------------- settlement
    def submit(self, raw: str) -> dict[str, Any]:
        """Decode, validate and settle a signed type-0x76 Tempo transaction."""
        import rlp
        from mpp.methods.tempo.intents import _transaction_sender

        if not isinstance(raw, str):
            raise RpcError(-32602, "raw transaction must be a hex string")
        try:
            tx_bytes = bytes.fromhex(raw.removeprefix("0x"))
        except ValueError as err:
            raise RpcError(-32602, "invalid raw transaction hex") from err
        if tx_bytes[:1] != b"\x76":
            raise RpcError(-32000, "unsupported transaction type (sandbox accepts 0x76)")
        try:
            fields = rlp.decode(tx_bytes[1:])
        except Exception as err:
            raise RpcError(-32000, f"rlp decode failed: {err}") from err
        if not isinstance(fields, list) or len(fields) not in (14, 15):
            raise RpcError(-32000, "malformed Tempo transaction")

        def as_int(value: Any) -> int:
            return int.from_bytes(value, "big") if isinstance(value, bytes) else 0

        chain_id = as_int(fields[0])
        if chain_id != self.chain_id:
            raise RpcError(-32000, f"invalid chain id {chain_id}, expected {self.chain_id}")
        max_fee_per_gas = as_int(fields[2])
        gas_limit = as_int(fields[3])
        valid_before = as_int(fields[8])
        if valid_before and valid_before <= int(self._now()):
            raise RpcError(-32000, "transaction expired: validBefore is in the past")
        sender = _transaction_sender(raw)
        if sender is None:
            raise RpcError(-32000, "invalid sender signature")
        fee_token_raw = fields[10]
        calls = []
        for call in fields[4] if isinstance(fields[4], list) else []:
            if not isinstance(call, list) or len(call) < 3:
                raise RpcError(-32000, "malformed call")
            to = "0x" + call[0].hex() if isinstance(call[0], bytes) else ""
            calls.append((to.lower(), call[2] if isinstance(call[2], bytes) else b""))
        if not calls:
            raise RpcError(-32000, "transaction has no calls")
        fee_token = (
            "0x" + fee_token_raw.hex()
            if isinstance(fee_token_raw, bytes) and len(fee_token_raw) == 20
            else (calls[0][0] if calls[0][0] in TOKENS else PATH_USD)
        ).lower()
        if fee_token not in TOKENS:
            raise RpcError(-32000, f"fee token {fee_token} is not a supported TIP-20")
        if gas_limit < GAS_USED:
            raise RpcError(-32000, "intrinsic gas too low")
        if max_fee_per_gas < GAS_PRICE:
            raise RpcError(-32000, "max fee per gas less than block base fee")
        fee = -(-GAS_USED * GAS_PRICE // ATTODOLLARS_PER_MICRODOLLAR)

        tx_hash = "0x" + _keccak(tx_bytes).hex()
        moves: list[tuple[str, str, int, str | None]] = []  # token, to, amount, memo
        for to, data in calls:
            selector = data[:4].hex()
            if to not in TOKENS:
                raise RpcError(-32000, f"call to unknown contract {to}")
            if selector == TRANSFER_WITH_MEMO_SELECTOR and len(data) >= 4 + 96:
                recipient = "0x" + data[4 + 12 : 4 + 32].hex()
                amount = int.from_bytes(data[36:68], "big")
                memo = "0x" + data[68:100].hex()
            elif selector == TRANSFER_SELECTOR and len(data) >= 4 + 64:
                recipient = "0x" + data[4 + 12 : 4 + 32].hex()
                amount = int.from_bytes(data[36:68], "big")
                memo = None
            else:
                raise RpcError(-32000, f"execution reverted: unsupported call 0x{selector}")
            moves.append((to, recipient, amount, memo))

        with self._lock:
            if tx_hash in self.receipts:
                raise RpcError(-32000, f"replay rejected: transaction {tx_hash} was already included")
            sender = self._touch(sender)
            needed: Counter[str] = Counter()
            for token, _to, amount, _memo in moves:
                needed[token] += amount
            needed[fee_token] += fee
            for token, amount in needed.items():
                have = self._balances.get((token, sender), 0)
                if amount > have:
                    raise RpcError(
                        -32003,
                        f"insufficient funds: {sender} holds {have} of {token}, needs {amount}",
                    )
            self.block_number += 1
            number = self.block_number
            now = self._now()
            block_hash = _block_hash(number)
            logs: list[dict[str, Any]] = []
            self._balances[(fee_token, sender)] -= fee
            self.fees_collected += fee
            for i, (token, recipient, amount, memo) in enumerate(moves):
                recipient = self._touch(recipient)
                self._balances[(token, sender)] -= amount
                self._balances[(token, recipient)] = self._balances.get((token, recipient), 0) + amount
                self.transfers.append(
                    Transfer(
                        tx_hash=tx_hash,
                        sender=sender,
                        recipient=recipient,
                        amount=amount,
                        currency=token,
                        memo=memo or "0x" + "00" * 32,
                        fee=fee if i == 0 else 0,
                        block_number=number,
                        timestamp=now,
                    )
                )
                logs.append(self._log(token, [TRANSFER_TOPIC, _word(sender), _word(recipient)], amount))
                if memo is not None:
                    logs.append(
                        self._log(
                            token,
                            [TRANSFER_WITH_MEMO_TOPIC, _word(sender), _word(recipient), memo],
                            amount,
                        )
                    )
            for index, log in enumerate(logs):
                log.update(
                    logIndex=_hex(index),
                    transactionIndex="0x0",
                    transactionHash=tx_hash,
                    blockNumber=_hex(number),
                    blockHash=block_hash,
                    removed=False,
                )
            receipt = {
                "status": "0x1",
                "type": "0x76",
                "transactionHash": tx_hash,
                "transactionIndex": "0x0",
                "blockNumber": _hex(number),
                "blockHash": block_hash,
                "from": sender,
                "to": moves[0][0],
                "contractAddress": None,
                "logs": logs,
                "logsBloom": "0x" + "00" * 256,
                "gasUsed": _hex(GAS_USED),
                "cumulativeGasUsed": _hex(GAS_USED),
                "effectiveGasPrice": _hex(GAS_PRICE),
                "feeToken": fee_token,
                "feePayer": sender,
            }
            self.receipts[tx_hash] = receipt
            self.transactions[tx_hash] = {
                "hash": tx_hash,
                "type": "0x76",
                "chainId": _hex(self.chain_id),
                "from": sender,
                "to": moves[0][0],
                "blockNumber": _hex(number),
                "blockHash": block_hash,
                "transactionIndex": "0x0",
                "gas": _hex(gas_limit),
                "maxFeePerGas": _hex(max_fee_per_gas),
                "nonce": "0x0",
                "value": "0x0",
                "input": "0x" + calls[0][1].hex(),
                "feeToken": fee_token,
                "validBefore": _hex(valid_before),
                "calls": [{"to": to, "value": "0x0", "input": "0x" + data.hex()} for to, data in calls],
            }
            self.blocks.append({"_number": number, "_timestamp": now, "transactions": [tx_hash]})
            return receipt

    @staticmethod
    def _log(token: str, topics: list[str], amount: int) -> dict[str, Any]:
        return {"address": token, "topics": topics, "data": _word(amount)}


def _error(rid: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": error}
