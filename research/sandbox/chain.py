"""An in-memory Tempo chain answering the JSON-RPC calls pympp makes.

Only what an MPP charge needs: TIP-20 balances, type-0x76 transactions carrying
``transfer``/``transferWithMemo`` calls, receipts with Ethereum-shaped logs, blocks.
Pure Python; ``rlp``/``eth_account``/``eth_hash`` are imported lazily on the first
raw transaction, so importing this module stays cheap.
"""

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import transactions
from .params import (
    AUTO_FUND_AMOUNT,
    BALANCE_OF_SELECTOR,
    CHAIN_ID,
    DECIMALS,
    DECIMALS_SELECTOR,
    ESTIMATE_GAS,
    GAS_PRICE,
    GAS_USED,
    GENESIS_BLOCK,
    PATH_USD,
    TOKENS,
    TRANSFER_TOPIC,
    TRANSFER_WITH_MEMO_TOPIC,
    TX_FEE,
    USDC_E,
    RpcError,
)

__all__ = [
    "CHAIN_ID",
    "GAS_PRICE",
    "GAS_USED",
    "PATH_USD",
    "TOKENS",
    "TX_FEE",
    "USDC_E",
    "Chain",
    "RpcError",
    "Transfer",
]


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
        if to in TOKENS and data.startswith(DECIMALS_SELECTOR):
            return _word(DECIMALS)
        return "0x"

    def rpc_eth_getTransactionReceipt(self, tx_hash: str) -> dict[str, Any] | None:
        with self._lock:
            return self.receipts.get(str(tx_hash).lower())

    def rpc_eth_getTransactionByHash(self, tx_hash: str) -> dict[str, Any] | None:
        with self._lock:
            return self.transactions.get(str(tx_hash).lower())

    def rpc_eth_getBlockByNumber(self, tag: Any = "latest", full: bool = False) -> dict[str, Any] | None:
        with self._lock:
            if tag in ("latest", "pending", "safe", "finalized", None):
                number = self.block_number
            elif tag == "earliest":
                number = GENESIS_BLOCK
            else:
                number = int(tag, 16) if isinstance(tag, str) else int(tag)
            if number > self.block_number or number < GENESIS_BLOCK:
                return None
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

    def rpc_eth_sendRawTransactionSync(self, raw: str, timeout_ms: Any = None) -> dict[str, Any]:
        return self.submit(raw)

    # ----------------------------------------------------------- settlement
    def submit(self, raw: str) -> dict[str, Any]:
        """Decode, verify and settle a signed type-0x76 Tempo transaction; return its receipt."""
        tx = transactions.decode(raw)
        sender = transactions.verify(tx, chain_id=self.chain_id, now=self._now())
        moves = transactions.token_moves(tx)
        with self._lock:
            if tx.tx_hash in self.receipts:
                raise RpcError(-32000, f"replay rejected: transaction {tx.tx_hash} was already included")
            sender = self._touch(sender)
            self._check_funds(sender, tx.fee_token, moves)
            return self._settle(tx, sender, moves)

    def _check_funds(self, sender: str, fee_token: str, moves: list[transactions.Move]) -> None:
        needed: Counter[str] = Counter()
        for move in moves:
            needed[move.token] += move.amount
        needed[fee_token] += TX_FEE
        for token, amount in needed.items():
            have = self._balances.get((token, sender), 0)
            if amount > have:
                raise RpcError(
                    -32003,
                    f"insufficient funds: {sender} holds {have} of {token}, needs {amount}",
                )

    def _settle(
        self, tx: transactions.TempoTransaction, sender: str, moves: list[transactions.Move]
    ) -> dict[str, Any]:
        """Move the tokens, mine a one-transaction block, store receipt and transaction."""
        self.block_number += 1
        number = self.block_number
        now = self._now()
        self._balances[(tx.fee_token, sender)] -= TX_FEE
        self.fees_collected += TX_FEE
        logs: list[dict[str, Any]] = []
        for i, move in enumerate(moves):
            recipient = self._touch(move.recipient)
            self._balances[(move.token, sender)] -= move.amount
            key = (move.token, recipient)
            self._balances[key] = self._balances.get(key, 0) + move.amount
            self.transfers.append(
                Transfer(
                    tx_hash=tx.tx_hash,
                    sender=sender,
                    recipient=recipient,
                    amount=move.amount,
                    currency=move.token,
                    memo=move.memo or "0x" + "00" * 32,
                    fee=TX_FEE if i == 0 else 0,
                    block_number=number,
                    timestamp=now,
                )
            )
            logs += _transfer_logs(move, sender, recipient)
        receipt = self._receipt(tx, sender, moves[0].token, number, logs)
        self.receipts[tx.tx_hash] = receipt
        self.transactions[tx.tx_hash] = self._transaction(tx, sender, moves[0].token, number)
        self.blocks.append({"_number": number, "_timestamp": now, "transactions": [tx.tx_hash]})
        return receipt

    def _receipt(
        self,
        tx: transactions.TempoTransaction,
        sender: str,
        to: str,
        number: int,
        logs: list[dict[str, Any]],
    ) -> dict[str, Any]:
        block_hash = _block_hash(number)
        for index, log in enumerate(logs):
            log.update(
                logIndex=_hex(index),
                transactionIndex="0x0",
                transactionHash=tx.tx_hash,
                blockNumber=_hex(number),
                blockHash=block_hash,
                removed=False,
            )
        return {
            "status": "0x1",
            "type": "0x76",
            "transactionHash": tx.tx_hash,
            "transactionIndex": "0x0",
            "blockNumber": _hex(number),
            "blockHash": block_hash,
            "from": sender,
            "to": to,
            "contractAddress": None,
            "logs": logs,
            "logsBloom": "0x" + "00" * 256,
            "gasUsed": _hex(GAS_USED),
            "cumulativeGasUsed": _hex(GAS_USED),
            "effectiveGasPrice": _hex(GAS_PRICE),
            "feeToken": tx.fee_token,
            "feePayer": sender,
        }

    def _transaction(
        self, tx: transactions.TempoTransaction, sender: str, to: str, number: int
    ) -> dict[str, Any]:
        return {
            "hash": tx.tx_hash,
            "type": "0x76",
            "chainId": _hex(self.chain_id),
            "from": sender,
            "to": to,
            "blockNumber": _hex(number),
            "blockHash": _block_hash(number),
            "transactionIndex": "0x0",
            "gas": _hex(tx.gas_limit),
            "maxFeePerGas": _hex(tx.max_fee_per_gas),
            "nonce": "0x0",
            "value": "0x0",
            "input": "0x" + tx.calls[0].data.hex(),
            "feeToken": tx.fee_token,
            "validBefore": _hex(tx.valid_before),
            "calls": [{"to": c.to, "value": "0x0", "input": "0x" + c.data.hex()} for c in tx.calls],
        }


def _log(token: str, topics: list[str], amount: int) -> dict[str, Any]:
    return {"address": token, "topics": topics, "data": _word(amount)}


def _transfer_logs(move: transactions.Move, sender: str, recipient: str) -> list[dict[str, Any]]:
    """A TIP-20 ``Transfer`` log, plus ``TransferWithMemo`` when the call carried a memo."""
    logs = [_log(move.token, [TRANSFER_TOPIC, _word(sender), _word(recipient)], move.amount)]
    if move.memo is not None:
        topics = [TRANSFER_WITH_MEMO_TOPIC, _word(sender), _word(recipient), move.memo]
        logs.append(_log(move.token, topics, move.amount))
    return logs


def _error(rid: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": error}
