"""WeChat's callback signatures and AES envelope, on top of wechatpy.

wechatpy does the SHA-1 signing and AES-CBC; this module adds what a public endpoint
needs around it: constant-time comparison, strict base64 and padding checks, and one
refusal type for every way a payload can be wrong.
"""

import base64
import binascii
import hmac
import struct

from wechatpy.crypto import PrpCrypto as MpPrpCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WorkPrpCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.utils import WeChatSigner

from bot.refusals import Forbidden, Malformed

BLOCK = 32  # WeChat pads to 32-byte blocks, not AES's 16


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def check_signature(given: str | None, *parts: str) -> None:
    if not given:
        raise Forbidden("missing signature")
    if not hmac.compare_digest(sign(*parts).encode(), given.encode("utf-8", "replace")):
        raise Forbidden("bad signature")


def aes_key_ok(encoding_aes_key: str) -> bool:
    try:
        return len(base64.b64decode(encoding_aes_key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


class Envelope:
    """AES for one account: `receive_id` is the Official Account's AppId or the WeCom CorpId."""

    def __init__(self, encoding_aes_key: str, receive_id: str, *, enterprise: bool):
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.receive_id = receive_id
        self._prp = (WorkPrpCrypto if enterprise else MpPrpCrypto)(self.key)

    def decrypt(self, encrypt: str) -> str:
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("bad base64") from None
        if not raw or len(raw) % 16:
            raise Malformed("truncated ciphertext")
        plain = self._prp.cipher.decrypt(raw)
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise Malformed("bad padding")
        body = plain[16:-pad]
        if len(body) < 4:
            raise Malformed("truncated plaintext")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise Malformed("bad length")
        # The checks above make wechatpy's own unpacking safe; it checks the receive id.
        try:
            return self._prp.decrypt(encrypt, self.receive_id)
        except (InvalidAppIdException, InvalidCorpIdException):
            raise Malformed("addressed to another account") from None
        except UnicodeDecodeError:
            raise Malformed("invalid utf-8") from None

    def encrypt(self, text: str, random16: bytes | None = None) -> str:
        if random16 is None:
            return self._prp.encrypt(text, self.receive_id).decode()
        prp = type(self._prp)(self.key)
        prp.get_random_string = lambda: random16
        return prp.encrypt(text, self.receive_id).decode()
