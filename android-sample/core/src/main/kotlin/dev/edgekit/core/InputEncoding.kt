package dev.edgekit.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * How preprocessed pixels (`H x W x 3` unsigned bytes) become the input tensor, with the rules of Python's
 * `device.input_encoding`:
 *
 * * FLOAT32: `(pixel - mean) / std` with the metadata's NormalizationOptions (default mean 0, std 1: edge-kit
 *   models take 0-255 and normalise inside themselves);
 * * UINT8 / INT8: the real value `(pixel - mean) / std` quantized with the tensor's scale and zero point; when that
 *   composition is the identity up to rounding, pixels are fed exactly (`pixel`, or `pixel - 128` for int8).
 */
class InputEncoding private constructor(
    val type: TensorType,
    /** "float", "exact" or "quantize". */
    val mode: String,
    private val mean: FloatArray,
    private val std: FloatArray,
    val scale: Float,
    val zeroPoint: Int,
    /** For mode "exact": the value added to each pixel. */
    val offset: Int
) {
    /** Bytes of the input tensor for [pixels] of [InputEncoding.make]'s tensor. */
    fun bytesFor(pixelCount: Int): Int = pixelCount * type.bytes

    /** Write the tensor for [pixels] into [out] (native order, from position 0); [out] is rewound. */
    fun encode(pixels: ByteArray, out: ByteBuffer) {
        out.rewind()
        when (mode) {
            "exact" -> for (i in pixels.indices) out.put(((pixels[i].toInt() and 0xFF) + offset).toByte())
            "float" -> {
                out.order(ByteOrder.nativeOrder())
                for (i in pixels.indices) out.putFloat(real(pixels, i))
            }
            else -> for (i in pixels.indices) {
                out.put(Quantization.quantize(real(pixels, i), scale, zeroPoint, type).toByte())
            }
        }
        out.rewind()
    }

    private fun real(pixels: ByteArray, i: Int): Float {
        val c = i % 3
        val m = if (mean.size == 1) mean[0] else mean[c]
        val s = if (std.size == 1) std[0] else std[c]
        return ((pixels[i].toInt() and 0xFF).toFloat() - m) / s
    }

    /** One line for the app's info panel. */
    fun describe(): String = when (mode) {
        "exact" -> if (offset == 0) "${type.name.toLowerCaseAscii()}: raw pixels" else "${type.name.toLowerCaseAscii()}: pixel${if (offset > 0) "+" else ""}$offset"
        "float" -> "${type.name.toLowerCaseAscii()}: (pixel - ${fmt(mean)}) / ${fmt(std)}"
        else -> "${type.name.toLowerCaseAscii()}: quantize((pixel - ${fmt(mean)}) / ${fmt(std)}, scale=$scale, zeroPoint=$zeroPoint)"
    }

    companion object {
        /**
         * The encoding for an input tensor [spec], given the metadata's normalisation [mean]/[std] (`null` when the
         * model has none). Raises [ModelException] naming [source] for unusable combinations.
         */
        fun make(spec: TensorSpec, mean: FloatArray?, std: FloatArray?, source: String): InputEncoding {
            val haveNorm = mean != null || std != null
            val m = perChannel(mean, 0f, "mean", source)
            val s = perChannel(std, 1f, "std", source)
            if (spec.type == TensorType.FLOAT32) return InputEncoding(spec.type, "float", m, s, 0f, 0, 0)
            val natural = if (spec.type == TensorType.UINT8) 0 else -128
            if (!haveNorm || spec.scale == 0f) {
                if (spec.scale == 0f && haveNorm && !(m.all { it == 0f } && s.all { it == 1f })) {
                    throw ModelException(
                        "$source: ${spec.type} input without quantization parameters but with normalisation mean " +
                            "${fmt(m)} std ${fmt(s)}; cannot encode pixels. Re-convert the model."
                    )
                }
                return InputEncoding(spec.type, "exact", m, s, spec.scale, spec.zeroPoint, natural)
            }
            var identity = true
            for (c in 0 until 3) {
                val mc = (if (m.size == 1) m[0] else m[c]).toDouble()
                val sc = (if (s.size == 1) s[0] else s[c]).toDouble()
                val gain = 1.0 / (sc * spec.scale)
                val offset = spec.zeroPoint - mc / (sc * spec.scale)
                if (Math.abs(gain - 1.0) >= 0.01 || Math.abs(offset - natural) > 1.0) identity = false
            }
            return if (identity) InputEncoding(spec.type, "exact", m, s, spec.scale, spec.zeroPoint, natural)
            else InputEncoding(spec.type, "quantize", m, s, spec.scale, spec.zeroPoint, 0)
        }

        private fun perChannel(values: FloatArray?, default: Float, what: String, source: String): FloatArray {
            if (values == null || values.isEmpty()) return floatArrayOf(default)
            if (values.size != 1 && values.size != 3) {
                throw ModelException("$source: input normalisation $what has ${values.size} values; expected 1 or 3.")
            }
            if (what == "std" && values.any { it == 0f }) {
                throw ModelException("$source: input normalisation std is 0; fix the model metadata.")
            }
            return values
        }

        private fun fmt(values: FloatArray): String =
            if (values.toSet().size == 1) values[0].toString() else values.joinToString(prefix = "[", postfix = "]")

        private fun String.toLowerCaseAscii(): String {
            val chars = CharArray(length) { val c = this[it]; if (c in 'A'..'Z') c + ('a' - 'A') else c }
            return String(chars)
        }
    }
}
