"""The quantization methods by name, with why one cannot run here (no torch needed to list
them, so a command's help can show them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuantizationMethod:
    name: str
    bits: int
    summary: str
    unsupported: str | None = None  # why it cannot run here, when it cannot


INT4_UNSUPPORTED = (
    "int4-weight-only has no working CPU path here: torchao's Int4WeightOnlyConfig runs only "
    "on CUDA, XPU and NPU kernels, and IntxWeightOnlyConfig with int4 on CPU keeps each "
    "4-bit value in a whole byte, so it would be no smaller than int8. Use int8-dynamic "
    "(smaller and faster on CPU) or int8-weight-only"
)

METHODS = {
    m.name: m
    for m in (
        QuantizationMethod(
            "int8-dynamic", 8, "int8 weights and int8 matrix products (torch dynamic quantization)"
        ),
        QuantizationMethod("int8-weight-only", 8, "int8 weights, float activations (torchao)"),
        QuantizationMethod("int4-weight-only", 4, "4-bit weights", INT4_UNSUPPORTED),
    )
}
