"""Native code for the hot loops: C sources built once per machine, the decode-attention kernel
and linear layers packed for oneDNN."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.serving.kernels.c_library import cache_dir, load_c_library
    from modelmint.serving.kernels.decode_attention import kernel_available, use_decode_attention
    from modelmint.serving.kernels.packed_linear import PackedLinear, pack_linears

__all__ = [
    "PackedLinear",
    "cache_dir",
    "kernel_available",
    "load_c_library",
    "pack_linears",
    "use_decode_attention",
]

lazy_exports(__name__)
