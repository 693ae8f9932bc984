package dev.edgekit.core

/**
 * Step 6 of the contract, `box-bilinear-int`, for one axis: integer box reduction then bilinear with half-pixel
 * centres, as integer weights. Output `i` is `weight0[i] * box(first0[i]) + weight1[i] * box(first1[i])`, where
 * `box(f)` is the sum of the `k` source samples starting at `f`; the weights sum to `2 * dst`.
 */
class AxisTaps(val src: Int, val dst: Int) {
    /** Box reduction factor `max(1, src / dst)`. */
    val k: Int = Math.max(1, src / dst)
    /** First source sample of the left box of each output. */
    val first0 = IntArray(dst)
    /** First source sample of the right box of each output. */
    val first1 = IntArray(dst)
    val weight0 = LongArray(dst)
    val weight1 = LongArray(dst)

    init {
        require(src >= 1 && dst >= 1) { "sizes must be positive, got $src -> $dst" }
        val s = (src / k).toLong()
        val offset = (src % k) / 2
        val d = dst.toLong()
        for (i in 0 until dst) {
            val n = Math.max(0L, (2L * i + 1L) * s - d)
            val x0 = n / (2L * d)
            val f = n - x0 * 2L * d
            val x1 = Math.min(x0 + 1L, s - 1L)
            first0[i] = offset + (x0 * k).toInt()
            first1[i] = offset + (x1 * k).toInt()
            weight0[i] = 2L * d - f
            weight1[i] = f
        }
    }
}

/**
 * Step 6b of the contract (versions 2 and 3: `pillow-bilinear`, and after the box step `pillow-reduce-bilinear`),
 * for one axis: Pillow's fixed-point coefficients of its BILINEAR filter (a tent whose support grows with the
 * reduction factor), computed exactly as Pillow's
 * `precompute_coeffs` and `normalize_coeffs_8bpc` do, in IEEE double arithmetic in the same order. Output `i` is
 * `clip(((1 shl 21) + sum_j coefficients[i * stride + j] * source[first[i] + j]) shr 22, 0, 255)` for
 * `j < count[i]`. Coefficients that round to 0 at either end are left out (adding 0 changes nothing).
 */
class TentTaps(val src: Int, val dst: Int) {
    /** First source sample of each output. */
    val first = IntArray(dst)
    /** Number of source samples of each output. */
    val count = IntArray(dst)
    /** Room per output in [coefficients]. */
    val stride: Int
    /** Coefficients in units of `2^-22`, `stride` per output. */
    val coefficients: IntArray

    init {
        require(src >= 1 && dst >= 1) { "sizes must be positive, got $src -> $dst" }
        // Pillow receives the crop box as C floats: (float) src, with the origin at 0 (the crop is done before).
        val scale = src.toFloat().toDouble() / dst
        val filterScale = if (scale < 1.0) 1.0 else scale
        val support = BILINEAR_SUPPORT * filterScale
        stride = Math.ceil(support).toInt() * 2 + 1
        coefficients = IntArray(dst * stride)
        val inverse = 1.0 / filterScale
        val weights = DoubleArray(stride)
        for (i in 0 until dst) {
            val center = (i + 0.5) * scale
            var xmin = (center - support + 0.5).toInt()
            if (xmin < 0) xmin = 0
            var xmax = (center + support + 0.5).toInt()
            if (xmax > src) xmax = src
            xmax -= xmin
            var sum = 0.0
            for (x in 0 until xmax) {
                var t = ((x + xmin).toDouble() - center + 0.5) * inverse
                if (t < 0.0) t = -t
                val w = if (t < 1.0) 1.0 - t else 0.0
                weights[x] = w
                sum += w
            }
            if (sum != 0.0) for (x in 0 until xmax) weights[x] /= sum
            var lo = 0
            var hi = xmax
            val fixed = IntArray(xmax) { x ->
                val w = weights[x]
                if (w < 0.0) (-0.5 + w * ONE).toInt() else (0.5 + w * ONE).toInt()
            }
            while (lo < hi && fixed[lo] == 0) lo++
            while (hi > lo && fixed[hi - 1] == 0) hi--
            first[i] = xmin + lo
            count[i] = hi - lo
            System.arraycopy(fixed, lo, coefficients, i * stride, hi - lo)
        }
    }

    companion object {
        /** Pillow's `PRECISION_BITS`: coefficients are in units of `2^-22`. */
        const val PRECISION_BITS = 22
        private const val ONE = (1 shl PRECISION_BITS).toDouble()
        private const val BILINEAR_SUPPORT = 1.0
    }
}
