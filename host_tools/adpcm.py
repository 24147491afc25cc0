"""IMA-ADPCM on the host: the firmware module itself (it runs on CPython), so the decoder and
the device encoder can never drift apart."""

from hushword.adpcm import HEADER, block_size, decode_block, encode_block_py

__all__ = ["HEADER", "block_size", "decode_block", "encode_block_py"]
