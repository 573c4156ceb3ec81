"""A raw type-0x76 Tempo transaction: decode it, check it as a node would, read its token moves.

Three steps, used in this order by :meth:`research.sandbox.chain.Chain.submit`:

1. :func:`decode` -- hex, type byte, RLP fields, calls, fee token, sender (structure only);
2. :func:`verify` -- what a node refuses before executing: chain id, expiry
   (``validBefore``), signature, fee token, gas limit, fee cap;
3. :func:`token_moves` -- what the calls do: ``transfer``/``transferWithMemo`` on a
   known TIP-20 token, anything else reverts.

Every refusal is an :class:`~research.sandbox.params.RpcError` shaped like a node's.
``rlp``, ``eth_hash`` and pympp's sender recovery are imported on first use.
"""

from dataclasses import dataclass
from typing import Any

from .params import (
    GAS_PRICE,
    GAS_USED,
    PATH_USD,
    TOKENS,
    TRANSFER_SELECTOR,
    TRANSFER_WITH_MEMO_SELECTOR,
    RpcError,
)

TEMPO_TX_TYPE = b"\x76"
# [chainId, maxPriorityFeePerGas, maxFeePerGas, gasLimit, calls, accessList, nonceKey,
#  nonce, validBefore, validAfter, feeToken, feePayerSig, authList, senderSig(, extra)]
FIELD_COUNTS = (14, 15)


@dataclass(frozen=True)
class Call:
    to: str  # lower-case 0x address ("" when the field was not 20 bytes)
    data: bytes


@dataclass(frozen=True)
class Move:
    """One token transfer a call makes."""

    token: str
    recipient: str
    amount: int
    memo: str | None  # 0x + 32 bytes for transferWithMemo, None for plain transfer


@dataclass(frozen=True)
class TempoTransaction:
    raw: bytes  # the signed bytes, type byte included
    tx_hash: str  # keccak256(raw)
    chain_id: int
    max_fee_per_gas: int
    gas_limit: int
    valid_before: int  # 0: no expiry
    fee_token: str
    calls: tuple[Call, ...]
    sender: str | None  # recovered signer, None when the signature does not recover


def keccak(data: bytes) -> bytes:
    from eth_hash.auto import keccak as _keccak

    return _keccak(data)


def _int(value: Any) -> int:
    return int.from_bytes(value, "big") if isinstance(value, bytes) else 0


def _calls(field: Any) -> tuple[Call, ...]:
    calls = []
    for call in field if isinstance(field, list) else []:
        if not isinstance(call, list) or len(call) < 3:
            raise RpcError(-32000, "malformed call")
        to = "0x" + call[0].hex() if isinstance(call[0], bytes) else ""
        calls.append(Call(to.lower(), call[2] if isinstance(call[2], bytes) else b""))
    if not calls:
        raise RpcError(-32000, "transaction has no calls")
    return tuple(calls)


def _fee_token(field: Any, calls: tuple[Call, ...]) -> str:
    """The fee token field, or (when empty) the first call's token, else pathUSD."""
    if isinstance(field, bytes) and len(field) == 20:
        return ("0x" + field.hex()).lower()
    return calls[0].to if calls[0].to in TOKENS else PATH_USD


def decode(raw: Any) -> TempoTransaction:
    """Parse a ``0x``-hex signed Tempo transaction; raise :class:`RpcError` when malformed."""
    import rlp
    from mpp.methods.tempo.intents import _transaction_sender

    if not isinstance(raw, str):
        raise RpcError(-32602, "raw transaction must be a hex string")
    try:
        tx_bytes = bytes.fromhex(raw.removeprefix("0x"))
    except ValueError as err:
        raise RpcError(-32602, "invalid raw transaction hex") from err
    if tx_bytes[:1] != TEMPO_TX_TYPE:
        raise RpcError(-32000, "unsupported transaction type (sandbox accepts 0x76)")
    try:
        fields = rlp.decode(tx_bytes[1:])
    except Exception as err:
        raise RpcError(-32000, f"rlp decode failed: {err}") from err
    if not isinstance(fields, list) or len(fields) not in FIELD_COUNTS:
        raise RpcError(-32000, "malformed Tempo transaction")
    calls = _calls(fields[4])
    return TempoTransaction(
        raw=tx_bytes,
        tx_hash="0x" + keccak(tx_bytes).hex(),
        chain_id=_int(fields[0]),
        max_fee_per_gas=_int(fields[2]),
        gas_limit=_int(fields[3]),
        valid_before=_int(fields[8]),
        fee_token=_fee_token(fields[10], calls),
        calls=calls,
        sender=_transaction_sender(raw),
    )


def verify(tx: TempoTransaction, *, chain_id: int, now: float) -> str:
    """Refuse what a node would not include; return the sender."""
    if tx.chain_id != chain_id:
        raise RpcError(-32000, f"invalid chain id {tx.chain_id}, expected {chain_id}")
    if tx.valid_before and tx.valid_before <= int(now):
        raise RpcError(-32000, "transaction expired: validBefore is in the past")
    if tx.sender is None:
        raise RpcError(-32000, "invalid sender signature")
    if tx.fee_token not in TOKENS:
        raise RpcError(-32000, f"fee token {tx.fee_token} is not a supported TIP-20")
    if tx.gas_limit < GAS_USED:
        raise RpcError(-32000, "intrinsic gas too low")
    if tx.max_fee_per_gas < GAS_PRICE:
        raise RpcError(-32000, "max fee per gas less than block base fee")
    return tx.sender


def _move(call: Call) -> Move:
    if call.to not in TOKENS:
        raise RpcError(-32000, f"call to unknown contract {call.to}")
    data = call.data
    selector = data[:4].hex()
    if selector == TRANSFER_WITH_MEMO_SELECTOR and len(data) >= 4 + 96:
        memo: str | None = "0x" + data[68:100].hex()
    elif selector == TRANSFER_SELECTOR and len(data) >= 4 + 64:
        memo = None
    else:
        raise RpcError(-32000, f"execution reverted: unsupported call 0x{selector}")
    recipient = "0x" + data[4 + 12 : 4 + 32].hex()
    return Move(call.to, recipient, int.from_bytes(data[36:68], "big"), memo)


def token_moves(tx: TempoTransaction) -> list[Move]:
    """The transfers the calls make, in order; raise :class:`RpcError` (revert) otherwise."""
    return [_move(call) for call in tx.calls]
