package dev.edgekit.core

/**
 * Per-tensor affine quantization as TFLite defines it: `real = scale * (q - zeroPoint)`, as in Python's
 * `device.quantization`. `scale == 0` means "not quantized".
 */
object Quantization {
    /**
     * Quantize one real value: `clip(rint(x / scale) + zeroPoint)` to the range of [type] (round half to even, as
     * TFLite's reference kernels). With `scale == 0`: `clip(rint(x))`.
     */
    fun quantize(x: Float, scale: Float, zeroPoint: Int, type: TensorType): Int {
        require(type.isQuantized) { "cannot quantize to $type" }
        val q = if (scale == 0f) Math.rint(x.toDouble()) else Math.rint(x.toDouble() / scale.toDouble()) + zeroPoint
        return Math.max(type.minValue.toDouble(), Math.min(type.maxValue.toDouble(), q)).toInt()
    }

    /** Real value of quantized [q] in float32: `(q - zeroPoint) * scale`; `scale == 0`: `q` itself. */
    fun dequantize(q: Int, scale: Float, zeroPoint: Int): Float =
        if (scale == 0f) q.toFloat() else (q.toFloat() - zeroPoint.toFloat()) * scale

    /** Dequantize every element of a raw tensor: [raw] holds one byte per element, read as [type]. */
    fun dequantize(raw: ByteArray, type: TensorType, scale: Float, zeroPoint: Int): FloatArray {
        require(type.isQuantized) { "dequantize(ByteArray) needs a uint8/int8 tensor, got $type" }
        return FloatArray(raw.size) {
            val q = if (type == TensorType.UINT8) raw[it].toInt() and 0xFF else raw[it].toInt()
            dequantize(q, scale, zeroPoint)
        }
    }
}
