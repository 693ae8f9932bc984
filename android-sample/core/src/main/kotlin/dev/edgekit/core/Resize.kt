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
