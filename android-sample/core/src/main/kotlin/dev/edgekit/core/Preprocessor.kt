package dev.edgekit.core

/**
 * The preprocessing contract (docs/preprocessing.md), byte-identical to Python's `device.preprocess`:
 * alpha on background -> EXIF orientation -> crop -> `box-bilinear-int` resize -> `height x width x 3` bytes.
 *
 * Input pixels are what Android's `Bitmap.getPixels` gives: one `Int` per pixel, `0xAARRGGBB`, straight
 * (non-premultiplied) alpha, row-major, `width * height` values, as stored (before EXIF orientation).
 * All arithmetic is exact integer arithmetic on `Long`, so the bytes equal Python's on every device.
 */
object Preprocessor {
    /** Largest photo accepted, as in Python (decompression bomb protection). */
    const val MAX_PIXELS = 150_000_000L
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
        resize(argb, o, box, config, out)
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

    private fun resize(argb: IntArray, o: Orientation, box: IntArray, config: PreprocessConfig, out: ByteArray) {
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
                            val na = 255 - a
                            r = (r * a + bgR * na + 127) / 255
                            g = (g * a + bgG * na + 127) / 255
                            b = (b * a + bgB * na + 127) / 255
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
