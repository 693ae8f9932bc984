package dev.edgekit.core

/**
 * The preprocessing contract (docs/preprocessing.md), byte-identical to Python's `device.preprocess`:
 * alpha on background -> EXIF orientation -> crop -> resize -> `height x width x 3` bytes.
 *
 * Input pixels are what Android's `Bitmap.getPixels` gives: one `Int` per pixel, `0xAARRGGBB`, straight
 * (non-premultiplied) alpha, row-major, `width * height` values, as stored (before EXIF orientation).
 * The resize is the contract's `pillow-reduce-bilinear` (Pillow's fixed-point box reduction over whole blocks,
 * then its fixed-point bilinear: [TentTaps], integer passes on `Int`), version 2's `pillow-bilinear` (the same
 * without the reduction) or version 1's `box-bilinear-int` (exact `Long` arithmetic) for models that name them;
 * either way the bytes equal Python's on every device. Scratch buffers are kept per thread, so a camera analyzer that calls
 * [preprocessInto] for every frame allocates nothing after its first frame.
 */
object Preprocessor {
    /**
     * Largest decoded photo accepted, as in Python (`device.image_decode.DEFAULT_MAX_DECODED_PIXELS`): what is
     * decoded at once (after JPEG DCT scaling) may not exceed 40 megapixels (decompression bomb protection).
     */
    const val MAX_PIXELS = 40_000_000L
    private const val EXACT_LIMIT = 1L shl 53

    /**
     * Model input pixels for a photo: `config.height * config.width * 3` bytes (unsigned), RGB interleaved.
     *
     * @param argb stored pixels, `0xAARRGGBB`, length `width * height`
     * @param orientation EXIF orientation tag 1-8 of the photo (other values mean 1)
     */
    fun preprocess(argb: IntArray, width: Int, height: Int, orientation: Int, config: PreprocessConfig): ByteArray {
        val out = ByteArray(config.height * config.width * 3)
        preprocessInto(argb, width, height, orientation, config, out)
        return out
    }

    /** [preprocess] writing into [out] (reused between camera frames); returns [out]. */
    fun preprocessInto(
        argb: IntArray, width: Int, height: Int, orientation: Int, config: PreprocessConfig, out: ByteArray
    ): ByteArray {
        if (width < 1 || height < 1) throw ImageException("image size must be positive, got ${width}x$height")
        if (width.toLong() * height > MAX_PIXELS) {
            throw ImageException("image of ${width}x$height pixels is over the $MAX_PIXELS-pixel limit")
        }
        if (argb.size != width * height) {
            throw ImageException("expected ${width * height} pixels for ${width}x$height, got ${argb.size}")
        }
        val outW = config.width
        val outH = config.height
        if (out.size != outW * outH * 3) {
            throw ImageException("output buffer holds ${out.size} bytes, expected ${outW * outH * 3}")
        }
        val o = Orientation.of(orientation, width, height)
        val box = cropBox(o.uprightWidth, o.uprightHeight, outW, outH, config.crop)
        when (config.resize) {
            PreprocessConfig.LEGACY_RESIZE_FILTER -> resizeBoxBilinearInt(argb, o, box, config, out)
            PreprocessConfig.V2_RESIZE_FILTER -> resizePillow(argb, o, box, config, out, reduce = false)
            else -> resizePillow(argb, o, box, config, out, reduce = true)
        }
        return out
    }

    /**
     * Step 1's JPEG DCT scaling: the largest of 8, 4, 2, 1 at most `min(cropWidth / outW, cropHeight / outH)` of
     * the upright photo's crop box. Decode JPEGs with `BitmapFactory.Options.inSampleSize` set to it (same rule as
     * Python's `device.resize.decode_scale`); other formats at full size.
     *
     * @param width stored width, @param height stored height, @param orientation EXIF orientation (5-8 swap them)
     */
    fun decodeScale(width: Int, height: Int, orientation: Int, config: PreprocessConfig): Int {
        val swap = orientation in 5..8
        val box = cropBox(if (swap) height else width, if (swap) width else height, config.width, config.height, config.crop)
        val k = Math.min(box[2] / config.width, box[3] / config.height)
        return when {
            k >= 8 -> 8
            k >= 4 -> 4
            k >= 2 -> 2
            else -> 1
        }
    }

    /** Step 5: `[x0, y0, cropWidth, cropHeight]` of an upright `width x height` image for an `outW x outH` model. */
    fun cropBox(width: Int, height: Int, outW: Int, outH: Int, crop: CropMode): IntArray {
        if (crop == CropMode.STRETCH) return intArrayOf(0, 0, width, height)
        return if (width.toLong() * outH > height.toLong() * outW) {
            val cw = Math.max(1L, height.toLong() * outW / outH).toInt()
            intArrayOf((width - cw) / 2, 0, cw, height)
        } else {
            val ch = Math.max(1L, width.toLong() * outH / outW).toInt()
            intArrayOf(0, (height - ch) / 2, width, ch)
        }
    }

    /**
     * Step 6's box factor of one axis in `pillow-reduce-bilinear`: `min(max(1, src / dst), MAX_REDUCE)` (Python's
     * `device.resize.reduce_factor`).
     */
    fun reduceFactor(src: Int, dst: Int): Int = Math.min(Math.max(1, src / dst), MAX_REDUCE)

    /** Largest per-axis box factor: Pillow's 32-bit block sums times its reciprocal stay exact below it. */
    const val MAX_REDUCE = 64

    /**
     * Pillow's reciprocal of a block of `n` pixels: `trunc(float32(2^32 / float32(256 n)))`; a block's value is
     * `((sum + n / 2) * multiplier) >> 24`, computed in 32 bits unsigned (below 2^32 for `n <= MAX_REDUCE^2`).
     */
    fun reduceMultiplier(n: Int): Long = (4294967296.0f / (256 * n).toFloat()).toLong()

    /** Per-thread scratch: one unpacked (or box-reduced) crop row, horizontally resampled rows (a ring), the
     *  vertical pass's sums, the taps last used. */
    private class Scratch {
        var row = IntArray(0)
        var ring = IntArray(0)
        var acc = IntArray(0)
        var tapsX: TentTaps? = null
        var tapsY: TentTaps? = null

        fun taps(previous: TentTaps?, src: Int, dst: Int): TentTaps =
            if (previous != null && previous.src == src && previous.dst == dst) previous else TentTaps(src, dst)
    }

    private val scratch = ThreadLocal.withInitial { Scratch() }

    /**
     * `pillow-reduce-bilinear` ([reduce]) or `pillow-bilinear`, Pillow's arithmetic in a streaming order: each
     * crop row the vertical pass needs is unpacked once (alpha on the background, EXIF orientation), or with
     * [reduce] each row of `kx x ky` blocks is summed from its `ky` crop rows and rounded as Pillow's reduce does,
     * and resampled horizontally (8-bit rounding and clipping) into a ring of `outW`-pixel rows kept interleaved
     * (r, g, b per pixel, as the output); as soon as output row `i`'s rows are there, the vertical pass combines
     * them straight into the output row, a loop over whole rows that the JIT vectorises. An axis already at the
     * model's size is not resampled (Pillow skips it too; its taps would be the identity).
     */
    private fun resizePillow(
        argb: IntArray, o: Orientation, box: IntArray, config: PreprocessConfig, out: ByteArray, reduce: Boolean
    ) {
        val outW = config.width
        val outH = config.height
        // The box step works on whole blocks only: the crop is trimmed, centred, to a multiple of the factor.
        val kx = if (reduce) reduceFactor(box[2], outW) else 1
        val ky = if (reduce) reduceFactor(box[3], outH) else 1
        val cx0 = box[0] + (box[2] % kx) / 2
        val cy0 = box[1] + (box[3] % ky) / 2
        val cw = box[2] / kx // the sizes the bilinear passes start from
        val ch = box[3] / ky
        val s = scratch.get()
        val tx = if (cw != outW) s.taps(s.tapsX, cw, outW).also { s.tapsX = it } else null
        val ty = if (ch != outH) s.taps(s.tapsY, ch, outH).also { s.tapsY = it } else null
        // Ring of resampled rows: crop rows are resampled in increasing order, up to the last one output i needs;
        // the ring must still hold output i's first row then. (The tent's first rows never go back; were they
        // to, every row would be kept.)
        var slots = 1
        var monotone = true
        if (ty != null) {
            var end = 0
            for (i in 0 until outH) {
                end = Math.max(end, ty.first[i] + ty.count[i])
                slots = Math.max(slots, end - ty.first[i])
                if (i > 0 && ty.first[i] < ty.first[i - 1]) monotone = false
            }
            if (!monotone) slots = ch
        }
        val len = 3 * outW // one resampled row: r, g, b of each pixel
        if (s.row.size < cw) s.row = IntArray(cw)
        if (s.ring.size < slots * len) s.ring = IntArray(slots * len)
        if (s.acc.size < len) s.acc = IntArray(len)
        val ring = s.ring
        val row = s.row
        val bg = config.background
        var next = 0 // next crop row to resample
        var slot = 0 // its place in the ring: next % slots
        for (i in 0 until outH) {
            val first = if (ty == null) i else ty.first[i]
            val count = if (ty == null) 1 else ty.count[i]
            while (next < first + count) {
                if (next >= first || !monotone) {
                    if (kx == 1 && ky == 1) {
                        unpackRow(argb, o, cx0, cy0 + next, cw, bg, row)
                    } else if (kx == 2 && ky == 2) {
                        reduceRow2x2(argb, o, cx0, cy0 + next * 2, cw, bg, row)
                    } else {
                        reduceRow(argb, o, cx0, cy0 + next * ky, kx, ky, cw, bg, row)
                    }
                    horizontal(row, cw, tx, ring, slot * len, outW)
                }
                next++
                if (++slot == slots) slot = 0
            }
            val d = i * len
            if (ty == null) {
                val base = (i % slots) * len
                for (q in 0 until len) out[d + q] = ring[base + q].toByte()
            } else {
                vertical(ring, (first % slots) * len, len, slots, count, ty.coefficients, i * ty.stride, s.acc, out, d)
            }
        }
    }

    /**
     * The vertical pass of output row [d]: `count` ring rows from [base] (wrapping after `slots` rows) weighted by
     * the coefficients of [k] from [kk], rounded, shifted and clipped into `len` output bytes. Two and three rows,
     * the common cases, go in one loop each; the JIT vectorises them.
     */
    private fun vertical(
        ring: IntArray, base: Int, len: Int, slots: Int, count: Int, k: IntArray, kk: Int, acc: IntArray,
        out: ByteArray, d: Int
    ) {
        val half = 1 shl (TentTaps.PRECISION_BITS - 1)
        val shift = TentTaps.PRECISION_BITS
        val wrap = slots * len
        val b0 = base
        var b1 = b0 + len
        if (b1 >= wrap) b1 = 0
        var b2 = b1 + len
        if (b2 >= wrap) b2 = 0
        when (count) {
            2 -> {
                val w0 = k[kk]
                val w1 = k[kk + 1]
                for (q in 0 until len) {
                    out[d + q] = clip8((half + ring[b0 + q] * w0 + ring[b1 + q] * w1) shr shift).toByte()
                }
            }
            3 -> {
                val w0 = k[kk]
                val w1 = k[kk + 1]
                val w2 = k[kk + 2]
                for (q in 0 until len) {
                    out[d + q] =
                        clip8((half + ring[b0 + q] * w0 + ring[b1 + q] * w1 + ring[b2 + q] * w2) shr shift).toByte()
                }
            }
            else -> {
                java.util.Arrays.fill(acc, 0, len, half)
                var b = base
                for (j in 0 until count) {
                    val w = k[kk + j]
                    for (q in 0 until len) acc[q] += ring[b + q] * w
                    b += len
                    if (b >= wrap) b = 0
                }
                for (q in 0 until len) out[d + q] = clip8(acc[q] shr shift).toByte()
            }
        }
    }

    /**
     * The horizontal pass of one unpacked row ([row]: `width` opaque `0xRRGGBB` pixels) into `outW` interleaved
     * r, g, b values at [at] of [dst]; without taps (no horizontal resampling) the row is copied. Two taps, the
     * common case, are unrolled. Each channel's sum stays below 2^31 on Int: the tent's coefficients are never
     * negative and sum to about 2^22.
     */
    private fun horizontal(row: IntArray, width: Int, tx: TentTaps?, dst: IntArray, at: Int, outW: Int) {
        if (tx == null) {
            var d = at
            for (q in 0 until width) {
                val p = row[q]
                dst[d] = p ushr 16
                dst[d + 1] = (p shr 8) and 0xFF
                dst[d + 2] = p and 0xFF
                d += 3
            }
            return
        }
        val half = 1 shl (TentTaps.PRECISION_BITS - 1)
        val shift = TentTaps.PRECISION_BITS
        val k = tx.coefficients
        val stride = tx.stride
        val firsts = tx.first
        val counts = tx.count
        var d = at
        for (x in 0 until outW) {
            var sR = half
            var sG = half
            var sB = half
            var c = firsts[x]
            var kk = x * stride
            val end = kk + counts[x]
            if (end - kk == 2) {
                val w0 = k[kk]
                val w1 = k[kk + 1]
                val p0 = row[c]
                val p1 = row[c + 1]
                sR += (p0 ushr 16) * w0 + (p1 ushr 16) * w1
                sG += ((p0 shr 8) and 0xFF) * w0 + ((p1 shr 8) and 0xFF) * w1
                sB += (p0 and 0xFF) * w0 + (p1 and 0xFF) * w1
                kk = end
            }
            while (kk < end) {
                val w = k[kk]
                val p = row[c]
                sR += (p ushr 16) * w
                sG += ((p shr 8) and 0xFF) * w
                sB += (p and 0xFF) * w
                c++
                kk++
            }
            dst[d] = clip8(sR shr shift)
            dst[d + 1] = clip8(sG shr shift)
            dst[d + 2] = clip8(sB shr shift)
            d += 3
        }
    }

    /** Step 3's alpha rule for one channel: `(c * a + background * (255 - a) + 127) / 255`. */
    @Suppress("NOTHING_TO_INLINE")
    private inline fun over(c: Int, a: Int, background: Int): Int = (c * a + background * (255 - a) + 127) / 255

    /** Step 3 for one pixel `0xAARRGGBB`: the opaque `0xRRGGBB` of it on the background ([over] per channel). */
    @Suppress("NOTHING_TO_INLINE")
    private inline fun composite(p: Int, bgR: Int, bgG: Int, bgB: Int): Int {
        val a = p ushr 24
        if (a == 255) return p and 0xFFFFFF
        return (over((p shr 16) and 0xFF, a, bgR) shl 16) or (over((p shr 8) and 0xFF, a, bgG) shl 8) or
            over(p and 0xFF, a, bgB)
    }

    /** Upright crop row `y` (from column `x0`, `width` pixels), alpha on the background, into [row] as `0xRRGGBB`. */
    private fun unpackRow(
        argb: IntArray, o: Orientation, x0: Int, y: Int, width: Int, background: IntArray, row: IntArray
    ) {
        val bgR = background[0]
        val bgG = background[1]
        val bgB = background[2]
        var idx = o.index(x0, y)
        val step = o.stepX
        for (q in 0 until width) {
            row[q] = composite(argb[idx], bgR, bgG, bgB)
            idx += step
        }
    }

    /**
     * One row of `width` box-reduced pixels into [row] (as [unpackRow]): the block of `kx x ky` upright crop pixels
     * from column `x0 + q * kx`, row `y`, alpha on the background, summed per channel, then Pillow's rounding
     * `((sum + n / 2) * multiplier) >> 24` with `n = kx * ky`, in 32 bits unsigned as Pillow does (the product
     * stays below 2^32, see [reduceMultiplier]). Within a block row red and blue share one Int (`red shl 16 |
     * blue`, each sum below `255 * MAX_REDUCE < 2^16`).
     */
    private fun reduceRow(
        argb: IntArray, o: Orientation, x0: Int, y: Int, kx: Int, ky: Int, width: Int, background: IntArray,
        row: IntArray
    ) {
        val bgR = background[0]
        val bgG = background[1]
        val bgB = background[2]
        val n = kx * ky
        val amend = n / 2
        val m = reduceMultiplier(n).toInt()
        val step = o.stepX
        val rowStep = o.stepY
        var idx = o.index(x0, y)
        for (q in 0 until width) {
            var sumR = 0
            var sumB = 0
            var sumG = 0
            var rowAt = idx
            for (r in 0 until ky) {
                var rb = 0
                var green = 0
                var all = -1 // the alpha of every pixel ANDed: opaque block rows skip the composite
                var at = rowAt
                for (j in 0 until kx) {
                    val p = argb[at]
                    rb += p and 0xFF00FF
                    green += (p ushr 8) and 0xFF
                    all = all and p
                    at += step
                }
                if ((all ushr 24) != 255) {
                    rb = 0
                    green = 0
                    at = rowAt
                    for (j in 0 until kx) {
                        val c = composite(argb[at], bgR, bgG, bgB)
                        rb += c and 0xFF00FF
                        green += (c ushr 8) and 0xFF
                        at += step
                    }
                }
                sumR += rb ushr 16
                sumB += rb and 0xFFFF
                sumG += green
                rowAt += rowStep
            }
            row[q] = ((((sumR + amend) * m) ushr 24) shl 16) or ((((sumG + amend) * m) ushr 24) shl 8) or
                (((sumB + amend) * m) ushr 24)
            idx += kx * step
        }
    }

    /**
     * [reduceRow] for 2 x 2 blocks, the camera case (a frame about twice the model's size): the four pixels of a
     * block are loaded at once, and red | blue summed in one Int.
     */
    private fun reduceRow2x2(
        argb: IntArray, o: Orientation, x0: Int, y: Int, width: Int, background: IntArray, row: IntArray
    ) {
        val bgR = background[0]
        val bgG = background[1]
        val bgB = background[2]
        val m = reduceMultiplier(4).toInt()
        val step = o.stepX
        val down = o.stepY
        var idx = o.index(x0, y)
        for (q in 0 until width) {
            var p0 = argb[idx]
            var p1 = argb[idx + step]
            var p2 = argb[idx + down]
            var p3 = argb[idx + down + step]
            if (((p0 and p1 and p2 and p3) ushr 24) != 255) {
                p0 = composite(p0, bgR, bgG, bgB)
                p1 = composite(p1, bgR, bgG, bgB)
                p2 = composite(p2, bgR, bgG, bgB)
                p3 = composite(p3, bgR, bgG, bgB)
            }
            val rb = (p0 and 0xFF00FF) + (p1 and 0xFF00FF) + (p2 and 0xFF00FF) + (p3 and 0xFF00FF)
            val green = ((p0 ushr 8) and 0xFF) + ((p1 ushr 8) and 0xFF) + ((p2 ushr 8) and 0xFF) +
                ((p3 ushr 8) and 0xFF)
            row[q] = (((((rb ushr 16) + 2) * m) ushr 24) shl 16) or ((((green + 2) * m) ushr 24) shl 8) or
                ((((rb and 0xFFFF) + 2) * m) ushr 24)
            idx += 2 * step
        }
    }

    private fun clip8(v: Int): Int = if (v < 0) 0 else if (v > 255) 255 else v

    /** Contract version 1's `box-bilinear-int` ([AxisTaps]), exact on `Long`. */
    private fun resizeBoxBilinearInt(argb: IntArray, o: Orientation, box: IntArray, config: PreprocessConfig, out: ByteArray) {
        val cx0 = box[0]
        val cy0 = box[1]
        val cw = box[2]
        val ch = box[3]
        val outW = config.width
        val outH = config.height
        val ty = AxisTaps(ch, outH)
        val tx = AxisTaps(cw, outW)
        val denominator = denominator(ty.k, tx.k, outH, outW)
        val half = denominator / 2
        val bgR = config.background[0]
        val bgG = config.background[1]
        val bgB = config.background[2]
        val rows = LongArray(cw * 3) // one output row after the vertical step, per crop column and channel
        for (i in 0 until outH) {
            java.util.Arrays.fill(rows, 0L)
            for (side in 0..1) {
                val weight = if (side == 0) ty.weight0[i] else ty.weight1[i]
                if (weight == 0L) continue
                val first = if (side == 0) ty.first0[i] else ty.first1[i]
                for (j in 0 until ty.k) {
                    var idx = o.index(cx0, cy0 + first + j)
                    var q = 0
                    while (q < cw) {
                        val p = argb[idx]
                        val a = p ushr 24
                        var r = (p shr 16) and 0xFF
                        var g = (p shr 8) and 0xFF
                        var b = p and 0xFF
                        if (a != 255) {
                            r = over(r, a, bgR)
                            g = over(g, a, bgG)
                            b = over(b, a, bgB)
                        }
                        rows[3 * q] += weight * r
                        rows[3 * q + 1] += weight * g
                        rows[3 * q + 2] += weight * b
                        idx += o.stepX
                        q++
                    }
                }
            }
            var dst = i * outW * 3
            for (x in 0 until outW) {
                var nr = 0L
                var ng = 0L
                var nb = 0L
                for (side in 0..1) {
                    val weight = if (side == 0) tx.weight0[x] else tx.weight1[x]
                    if (weight == 0L) continue
                    var c = 3 * (if (side == 0) tx.first0[x] else tx.first1[x])
                    for (j in 0 until tx.k) {
                        nr += weight * rows[c]
                        ng += weight * rows[c + 1]
                        nb += weight * rows[c + 2]
                        c += 3
                    }
                }
                out[dst] = ((nr + half) / denominator).toByte()
                out[dst + 1] = ((ng + half) / denominator).toByte()
                out[dst + 2] = ((nb + half) / denominator).toByte()
                dst += 3
            }
        }
    }

    private fun denominator(ky: Int, kx: Int, outH: Int, outW: Int): Long {
        val d = try {
            Math.multiplyExact(Math.multiplyExact(ky.toLong() * kx.toLong(), 2L * outH), 2L * outW)
        } catch (e: ArithmeticException) {
            Long.MAX_VALUE
        }
        if (d >= EXACT_LIMIT / 255) {
            throw ImageException("resize factors too large for exact arithmetic (denominator $d); use a smaller photo")
        }
        return d
    }
}
