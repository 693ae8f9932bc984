package dev.edgekit.core

/** Element types of classifier input/output tensors the core handles (what LiteRT's Java API reports). */
enum class TensorType(val bytes: Int, val minValue: Int, val maxValue: Int) {
    FLOAT32(4, 0, 0),
    UINT8(1, 0, 255),
    INT8(1, -128, 127);

    val isQuantized: Boolean get() = this != FLOAT32
}

/**
 * Shape, type and per-tensor quantization of one interpreter tensor, as the app reads them from
 * `Interpreter.getInputTensor(0)` / `getOutputTensor(0)` (`scale == 0` means not quantized).
 */
class TensorSpec(val type: TensorType, val shape: IntArray, val scale: Float = 0f, val zeroPoint: Int = 0) {
    /** Number of elements. */
    val size: Int get() = shape.fold(1) { a, b -> a * b }

    override fun toString(): String =
        "TensorSpec($type ${shape.joinToString("x")}, scale=$scale, zeroPoint=$zeroPoint)"
}
