package dev.edgekit.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.nio.ByteBuffer
import java.nio.ByteOrder

/** The small rules shared with Python: ranking ties, quantization rounding, labels files, JSON, config checks. */
class RulesTest {
    private val labels = listOf("background", "a", "b", "c", "d")

    @Test
    fun topKBreaksTiesByLowerIndexAndSkipsBackground() {
        val scores = floatArrayOf(0.9f, 0.25f, 0.25f, 0.3f, 0.25f)
        val top = TopK.topK(scores, labels, 3, skipIndex = 0)
        assertEquals(listOf("c", "a", "b"), top.map { it.label })
        assertEquals(listOf(3, 1, 2), top.map { it.index })
        assertEquals(listOf("background", "c"), TopK.topK(scores, labels, 2).map { it.label })
        assertEquals(listOf("c"), TopK.topK(scores, labels, 5, threshold = 0.26f, skipIndex = 0).map { it.label })
        assertEquals(4, TopK.topK(scores, labels, 10, skipIndex = 0).size)
    }

    @Test
    fun labelsThatAreNotUtf8OrHaveAnEmptyLineAreRefused() {
        assertEquals(listOf("daisy", "rose"), Labels.fromBytes("daisy\nrose\n".toByteArray(), "m: packed labels.txt"))
        try {
            Labels.fromBytes(byteArrayOf(0x61, 0x0a, 0x72, 0x6f, 0x73, 0xe9.toByte()), "m: packed labels.txt")
            fail("a Latin-1 label was accepted")
        } catch (e: ModelException) {
            assertTrue(e.message!!.startsWith("m: packed labels.txt is not UTF-8 text"))
        }
        try {
            Labels.fromBytes("a\nb\n\nc\n".toByteArray(), "m: packed labels.txt")
            fail("an empty label was accepted")
        } catch (e: ModelException) {
            assertTrue(e.message!!.startsWith("m: packed labels.txt: line 3 is empty, so output 2 has no label"))
        }
    }

    @Test
    fun decodedPhotosOverTheLimitAreRefusedAsInPython() {
        assertEquals(40_000_000L, Preprocessor.MAX_PIXELS)  // device.image_decode.DEFAULT_MAX_DECODED_PIXELS
        try {
            Preprocessor.preprocess(IntArray(0), 9000, 5000, 1, PreprocessConfig(224, 224, CropMode.CENTER))
            fail("a 45-megapixel photo was accepted")
        } catch (e: ImageException) {
            assertTrue(e.message!!.contains("over the 40000000-pixel limit"))
        }
    }

    @Test
    fun topKNeverReportsNaN() {
        val top = TopK.topK(floatArrayOf(Float.NaN, 0.1f, 0.2f), listOf("x", "y", "z"), 3)
        assertEquals(listOf("z", "y"), top.map { it.label })
    }

    @Test
    fun quantizationRoundsHalfToEvenAndClips() {
        assertEquals(2, Quantization.quantize(2.5f, 1f, 0, TensorType.UINT8))
        assertEquals(4, Quantization.quantize(3.5f, 1f, 0, TensorType.UINT8))
        assertEquals(255, Quantization.quantize(1000f, 1f, 0, TensorType.UINT8))
        assertEquals(-128, Quantization.quantize(-1000f, 1f, 0, TensorType.INT8))
        assertEquals(0.5f, Quantization.dequantize(128, 1f / 256, 0), 0f)
        assertArrayEquals(floatArrayOf(0.5f, 0f, 0.99609375f),
            Quantization.dequantize(byteArrayOf(0, -128, 127), TensorType.INT8, 1f / 256, -128), 0f)
        assertArrayEquals(floatArrayOf(1f, 0f), Quantization.dequantize(byteArrayOf(-1, 0), TensorType.UINT8, 1f / 255, 0), 0f)
    }

    @Test
    fun scoreTypeIsDetectedLikePython() {
        assertTrue(Scores.quantizedRangeIsProbability(TensorType.UINT8, 1f / 256, 0))
        assertTrue(Scores.quantizedRangeIsProbability(TensorType.INT8, 1f / 256, -128))
        assertFalse(Scores.quantizedRangeIsProbability(TensorType.UINT8, 0.0989f, 60))
        assertTrue(Scores.looksLikeProbabilities(floatArrayOf(0.2f, 0.8f)))
        assertFalse(Scores.looksLikeProbabilities(floatArrayOf(2f, -1f)))
        val p = Scores.softmax(floatArrayOf(1f, 1f, 1f, 1f))
        assertArrayEquals(floatArrayOf(0.25f, 0.25f, 0.25f, 0.25f), p, 0f)
        val values = DoubleArray(1001) { it * 0.001 }
        assertEquals(values.sum(), Scores.pairwiseSum(values, 0, values.size), 1e-9)
    }

    @Test
    fun labelsFilesAreParsedLikePython() {
        assertEquals(listOf("a", "b", "", "c"), Labels.parse("\uFEFF a \r\nb\r\n\nc\n\n\n"))
        assertEquals(listOf("x", "y"), Labels.parse("x\ry"))
        assertTrue(Labels.isBackground(" Background "))
        assertTrue(Labels.isBackground("???"))
        assertFalse(Labels.isBackground("daisy"))
    }

    @Test
    fun miniJsonReadsTheContractBlock() {
        val text = """{"contract": "edge-kit-preprocess", "version": 1, "height": 160, "width": 128,
            "crop": "stretch", "resize": "box-bilinear-int", "background": [1, 2, 3], "note": "caf\u00e9 \"q\"", "x": -1.5e2, "n": null}"""
        val map = MiniJson.parse(text) as Map<*, *>
        assertEquals("café \"q\"", map["note"])
        assertEquals(-150.0, map["x"])
        assertTrue(map.containsKey("n"))
        val v1 = PreprocessConfig(160, 128, CropMode.STRETCH, intArrayOf(1, 2, 3), PreprocessConfig.LEGACY_RESIZE_FILTER)
        assertEquals(v1, PreprocessConfig.fromMap(map))
        assertEquals(1, v1.version)
        for (bad in listOf("{", "[1,]", "{\"a\" 1}", "\"abc", "01x", "")) {
            try {
                MiniJson.parse(bad)
                fail("'$bad' must be refused")
            } catch (e: IllegalArgumentException) {
                assertTrue(e.message, e.message!!.startsWith("invalid JSON"))
            }
        }
    }

    @Test
    fun eachContractVersionGetsItsResize() {
        // Models made before version 3 keep their version's resize (the pixels they were trained on); new ones get
        // Pillow's reduce + bilinear. A block without "resize" means its version's filter.
        assertEquals(PreprocessConfig.LEGACY_RESIZE_FILTER,
            PreprocessConfig.fromJson("""{"version": 1, "height": 8, "width": 8}""").resize)
        assertEquals("pillow-bilinear", PreprocessConfig.fromJson("""{"version": 2, "height": 8, "width": 8}""").resize)
        assertEquals(2, PreprocessConfig.fromJson("""{"version": 2, "height": 8, "width": 8}""").version)
        assertEquals(PreprocessConfig.RESIZE_FILTER,
            PreprocessConfig.fromJson("""{"version": 3, "height": 8, "width": 8}""").resize)
        assertEquals(3, PreprocessConfig().version)
        assertEquals("pillow-reduce-bilinear", PreprocessConfig().resize)
    }

    @Test
    fun reduceFactorsAndMultipliersFollowPillow() {
        assertEquals(2, Preprocessor.reduceFactor(480, 224))
        assertEquals(1, Preprocessor.reduceFactor(100, 224))
        assertEquals(Preprocessor.MAX_REDUCE, Preprocessor.reduceFactor(10_000, 3))
        // Pillow's reciprocals: exact for powers of two, float32-rounded otherwise (3: 2^24 / 3 = 5592405.33).
        assertEquals(1L shl 22, Preprocessor.reduceMultiplier(4))
        assertEquals(5592405L, Preprocessor.reduceMultiplier(3))
        val n = Preprocessor.MAX_REDUCE * Preprocessor.MAX_REDUCE
        assertTrue((255L * n + n / 2) * Preprocessor.reduceMultiplier(n) < (1L shl 32))
    }

    @Test
    fun invalidPreprocessingIsRefusedWithTheReason() {
        val cases = mapOf(
            """{"contract": "other", "height": 1, "width": 1}""" to "not an edge-kit preprocessing block",
            """{"version": 4, "height": 1, "width": 1}""" to "version 4 is newer than this app (3); update the app's core",
            """{"height": 1, "width": 1, "crop": "zoom"}""" to "unknown crop mode",
            """{"height": 1, "width": 1, "resize": "bicubic"}""" to "unknown resize filter",
            """{"height": 0, "width": 1}""" to "input size must be positive",
            """{"width": 1}""" to "missing 'height'"
        )
        for ((json, reason) in cases) {
            try {
                PreprocessConfig.fromJson(json)
                fail("$json must be refused")
            } catch (e: IllegalArgumentException) {
                assertTrue("${e.message} should say $reason", e.message!!.contains(reason))
            }
        }
    }

    @Test
    fun labelCountMismatchExplainsTheBackgroundClass() {
        try {
            ClassifierCore.resolveLabels(listOf("background", "a", "b"), null, 2, "m.tflite")
            fail("a mismatch must be refused")
        } catch (e: ModelException) {
            assertTrue(e.message, e.message!!.contains("remove the first line"))
        }
        assertEquals(listOf("x", "y"), ClassifierCore.resolveLabels(null, listOf("x", "y"), 2, "m.tflite"))
    }

    @Test
    fun centreCropKeepsTheModelAspect() {
        assertArrayEquals(intArrayOf(80, 0, 480, 480), Preprocessor.cropBox(640, 480, 224, 224, CropMode.CENTER))
        assertArrayEquals(intArrayOf(0, 37, 300, 375), Preprocessor.cropBox(300, 450, 160, 200, CropMode.CENTER))
        assertArrayEquals(intArrayOf(0, 0, 640, 480), Preprocessor.cropBox(640, 480, 224, 224, CropMode.STRETCH))
    }

    @Test
    fun jpegDecodeScaleFollowsTheContract() {  // same cases as Python's test_large_jpegs_are_decoded_with_dct_scaling
        val square = PreprocessConfig(height = 224, width = 224)
        assertEquals(2, Preprocessor.decodeScale(640, 480, 1, square))
        assertEquals(8, Preprocessor.decodeScale(4000, 3000, 1, square))
        assertEquals(1, Preprocessor.decodeScale(447, 447, 1, square))
        val stretch = PreprocessConfig(height = 96, width = 96, crop = CropMode.STRETCH)
        assertEquals(2, Preprocessor.decodeScale(4000, 300, 1, stretch))
        assertEquals(2, Preprocessor.decodeScale(300, 4000, 6, stretch))  // rotated: the upright photo counts
        assertEquals(1, Preprocessor.decodeScale(150, 4000, 1, PreprocessConfig(height = 128, width = 96, crop = CropMode.STRETCH)))
    }

    @Test
    fun version1ModelsStillLoadUnderContractVersion3() {
        val old = PreprocessConfig.fromJson("""{"contract": "edge-kit-preprocess", "version": 1, "height": 40, "width": 56, "crop": "stretch"}""")
        // Same parameters, and version 1's resize: the model keeps seeing the pixels it was trained on.
        assertEquals(PreprocessConfig(40, 56, CropMode.STRETCH, resize = PreprocessConfig.LEGACY_RESIZE_FILTER), old)
        assertEquals(1, old.version)
    }

    @Test
    fun aScoreEqualToTheThresholdIsKept() {
        // Python keeps score >= threshold. A uint8 output of 128 with scale 1/256 is exactly 0.5, one of the app's
        // thresholds: that label must show.
        val scores = Quantization.dequantize(byteArrayOf(128.toByte(), 64, 32), TensorType.UINT8, 1f / 256, 0)
        assertEquals(0.5f, scores[0])
        val labels = listOf("a", "b", "c")
        assertEquals(listOf("a"), TopK.topK(scores, labels, 3, threshold = 0.5f).map { it.label })
        assertEquals(listOf("a", "b"), TopK.topK(scores, labels, 3, threshold = 0.25f).map { it.label })
        assertEquals(emptyList<String>(), TopK.topK(scores, labels, 3, threshold = 0.5001f).map { it.label })
    }

    private val pixelSpec = intArrayOf(1, 1, 2, 3)

    @Test
    fun inputEncodingFeedsPixelsExactlyOnlyWhenGainAndZeroPointBothFit() {
        fun mode(type: TensorType, scale: Float, zero: Int, mean: Float, std: Float): String =
            InputEncoding.make(TensorSpec(type, pixelSpec, scale, zero), floatArrayOf(mean), floatArrayOf(std), "m").mode
        // edge-kit's exports: mean 0, std 1, raw-pixel quantization (uint8 zero point 0, int8 -128).
        assertEquals("exact", mode(TensorType.UINT8, 1f, 0, 0f, 1f))
        assertEquals("exact", mode(TensorType.INT8, 1f, -128, 0f, 1f))
        assertEquals(-128, InputEncoding.make(TensorSpec(TensorType.INT8, pixelSpec, 1f, -128), floatArrayOf(0f),
            floatArrayOf(1f), "m").offset)
        // Teachable Machine's quantized export: scale 1/255, normalisation (pixel - 0) / 255 (from its quantization).
        assertEquals("exact", mode(TensorType.UINT8, 1f / 255, 0, 0f, 255f))
        // The gain fits, the zero point does not: pixel 0 must become 0 (int8 zero point 0), not -128; a mean of 16
        // moves every value by 16 steps. Shifting pixels would be wrong by a constant.
        assertEquals("quantize", mode(TensorType.INT8, 1f, 0, 0f, 1f))
        assertEquals("quantize", mode(TensorType.INT8, 1f, -128, 16f, 1f))
        assertEquals("quantize", mode(TensorType.UINT8, 1f, 3, 0f, 1f))
        // The zero point fits, the gain does not (2% off).
        assertEquals("quantize", mode(TensorType.UINT8, 1f, 0, 0f, 1.02f))
        // Float inputs are normalised, never quantized.
        assertEquals("float", mode(TensorType.FLOAT32, 0f, 0, 127.5f, 127.5f))
    }

    @Test
    fun quantizeModeUsesTheZeroPointAndRgbOrder() {
        // int8 input, scale 0.5, zero point -100; mean (R, G, B) = (10, 20, 30), std (1, 2, 4):
        // q = round((pixel - mean) / std / 0.5) - 100, channel by channel.
        val encoding = InputEncoding.make(TensorSpec(TensorType.INT8, pixelSpec, 0.5f, -100),
            floatArrayOf(10f, 20f, 30f), floatArrayOf(1f, 2f, 4f), "m")
        assertEquals("quantize", encoding.mode)
        val pixels = byteArrayOf(50, 60, 70, 10, 20, 30) // two pixels, R G B each
        val out = ByteBuffer.allocate(6)
        encoding.encode(pixels, out)
        // (50-10)/1/0.5 = 80, (60-20)/2/0.5 = 40, (70-30)/4/0.5 = 20; the second pixel is the mean itself: 0.
        assertArrayEquals(byteArrayOf(-20, -60, -80, -100, -100, -100), ByteArray(6).also { out.get(it) })
    }

    @Test
    fun perChannelFloatNormalisationIsAppliedInRgbOrder() {
        // ImageNet-style, as `edge-convert metadata --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375` writes.
        val mean = floatArrayOf(123.675f, 116.28f, 103.53f)
        val std = floatArrayOf(58.395f, 57.12f, 57.375f)
        val encoding = InputEncoding.make(TensorSpec(TensorType.FLOAT32, pixelSpec), mean, std, "m")
        val pixels = byteArrayOf(255.toByte(), 0, 128.toByte(), 0, 255.toByte(), 7)
        val out = ByteBuffer.allocate(6 * 4)
        encoding.encode(pixels, out)
        val got = FloatArray(6).also { out.order(ByteOrder.nativeOrder()).asFloatBuffer().get(it) }
        val want = floatArrayOf((255 - 123.675f) / 58.395f, (0 - 116.28f) / 57.12f, (128 - 103.53f) / 57.375f,
            (0 - 123.675f) / 58.395f, (255 - 116.28f) / 57.12f, (7 - 103.53f) / 57.375f)
        assertArrayEquals(want, got, 1e-6f)
    }
}
