package dev.edgekit.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

/** How a classifier output is read: probabilities kept, logits through a softmax, or decided by the rules below. */
enum class ScoreType { AUTO, PROBABILITIES, LOGITS }

/**
 * From a raw output tensor to class probabilities, with the rules of Python's `device.postprocess.to_scores`:
 *
 * 1. dequantize uint8/int8 outputs with the tensor's scale and zero point (float32 outputs as they are);
 * 2. [ScoreType.AUTO]: a quantized output holds probabilities when the real range it can represent lies within
 *    `[-0.01, 1.01]` (TFLite quantizes softmax with scale 1/256); a float output holds probabilities when every
 *    value lies in `[-0.001, 1.001]` and they sum to `1 +- 0.01`; anything else is logits and goes through a softmax.
 */
object Scores {
    /** Probabilities from the raw bytes of an output tensor (little-endian floats for FLOAT32). */
    fun fromRaw(raw: ByteArray, spec: TensorSpec, scoreType: ScoreType = ScoreType.AUTO): FloatArray {
        val values: FloatArray
        val isProbability: Boolean
        if (spec.type == TensorType.FLOAT32) {
            require(raw.size % 4 == 0) { "float32 output of ${raw.size} bytes is not a whole number of floats" }
            values = FloatArray(raw.size / 4)
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values)
            isProbability = looksLikeProbabilities(values)
        } else {
            values = Quantization.dequantize(raw, spec.type, spec.scale, spec.zeroPoint)
            isProbability = if (spec.scale != 0f) quantizedRangeIsProbability(spec.type, spec.scale, spec.zeroPoint)
            else looksLikeProbabilities(values)
        }
        val type = if (scoreType == ScoreType.AUTO) (if (isProbability) ScoreType.PROBABILITIES else ScoreType.LOGITS)
        else scoreType
        return if (type == ScoreType.LOGITS) softmax(values) else values
    }

    /** The AUTO rule for float outputs. */
    fun looksLikeProbabilities(values: FloatArray): Boolean {
        if (values.isEmpty()) return false
        var sum = 0.0
        for (v in values) {
            if (!(v >= -0.001f && v <= 1.001f)) return false
            sum += v
        }
        return Math.abs(sum - 1.0) <= 0.01
    }

    /** The AUTO rule for quantized outputs: the representable real range lies within `[-0.01, 1.01]`. */
    fun quantizedRangeIsProbability(type: TensorType, scale: Float, zeroPoint: Int): Boolean {
        if (!type.isQuantized || scale == 0f) return false
        val s = scale.toDouble()
        val low = s * (type.minValue - zeroPoint)
        val high = s * (type.maxValue - zeroPoint)
        return low >= -0.01 && high <= 1.01
    }

    /**
     * Numerically stable softmax computed in double and returned as float32, like Python's (whose sum is numpy's
     * pairwise summation, reproduced here so the results agree to the last bit except for `exp` rounding).
     */
    fun softmax(logits: FloatArray): FloatArray {
        if (logits.isEmpty()) return FloatArray(0)
        var max = Double.NEGATIVE_INFINITY
        for (v in logits) if (v > max) max = v.toDouble()
        val e = DoubleArray(logits.size) { Math.exp(logits[it].toDouble() - max) }
        val sum = pairwiseSum(e, 0, e.size)
        return FloatArray(e.size) { (e[it] / sum).toFloat() }
    }

    /** numpy's pairwise summation of `values[start until start + n]`. */
    fun pairwiseSum(values: DoubleArray, start: Int, n: Int): Double {
        if (n < 8) {
            var res = 0.0
            for (i in start until start + n) res += values[i]
            return res
        }
        if (n <= 128) {
            val r = DoubleArray(8) { values[start + it] }
            var i = 8
            while (i < n - (n % 8)) {
                for (j in 0 until 8) r[j] += values[start + i + j]
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while (i < n) {
                res += values[start + i]
                i++
            }
            return res
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return pairwiseSum(values, start, n2) + pairwiseSum(values, start + n2, n - n2)
    }
}
