package dev.edgekit.sample

import android.content.ContentResolver
import android.content.res.AssetManager
import android.net.Uri
import dev.edgekit.core.TensorSpec
import dev.edgekit.core.TensorType
import dev.edgekit.core.TestFiles
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.ByteBuffer

/**
 * The app's whole path on real models: PhotoLoader -> ModelClassifier (core preprocessing and input encoding) ->
 * a fake interpreter that checks the input tensor is byte-identical to the one Python fed, and replays Python's raw
 * output -> the same top results as Python. Cases from tests/android/make_parity.py whose photo is lossless
 * (PNG/BMP: decoded identically here and in Pillow); float32, uint8 and int8 (int8-with-uint8-I/O export too).
 */
class ModelClassifierTest {
    private class ReplayRunner(
        override val input: TensorSpec, override val output: TensorSpec, private val inputSha: String,
        private val raw: ByteArray, private val case: String
    ) : TensorRunner {
        override val accelerator = "fake"
        override val fallbackMessage: String? = null
        var runs = 0
        var closed = false

        override fun run(input: ByteBuffer, output: ByteBuffer) {
            val bytes = ByteArray(input.remaining())
            input.duplicate().get(bytes)
            assertEquals("$case: input tensor (SHA-256 of what Python fed)", inputSha, TestFiles.sha256(bytes))
            output.put(raw)
            runs++
        }

        override fun close() { closed = true }
    }

    private fun type(name: String): TensorType = TensorType.valueOf(name.toUpperCase())
    private fun shape(text: String): IntArray = text.split(" ").map { it.toInt() }.toIntArray()

    @Test
    fun replaysPythonOutputsForFloatUint8AndInt8Models() {
        val index = TestFiles.keyed(File(TestFiles.parity, "index.txt"))["case"]!!.map { File(TestFiles.parity, it[0]) }
        val types = HashSet<String>()
        var checked = 0
        for (f in index) {
            val c = TestFiles.keyed(f)
            val image = TestFiles.one(c, "image")[0]
            val photo = if (image.startsWith("golden:")) File(TestFiles.golden, image.removePrefix("golden:"))
                else File(TestFiles.assets, image)
            if (!(photo.name.endsWith(".png") || photo.name.endsWith(".bmp"))) continue // lossy: decoders differ
            val m = TestFiles.keyed(File(TestFiles.parity, TestFiles.one(c, "model")[0]))
            val rel = TestFiles.one(m, "model")[0]
            val modelFile = TestFiles.model(rel)
            val labelsSource = TestFiles.one(m, "labels_source")[0]
            val fallback = if (labelsSource.startsWith("beside:"))
                dev.edgekit.core.Labels.parse(File(TestFiles.assets, labelsSource.removePrefix("beside:")).readBytes()) else null
            val inLine = TestFiles.one(m, "input")
            val q = TestFiles.one(c, "quantization")
            val runner = ReplayRunner(
                TensorSpec(type(inLine[0]), shape(inLine[1]), inLine[2].toFloat(), inLine[3].toInt()),
                TensorSpec(type(TestFiles.one(c, "dtype")[0]), shape(TestFiles.one(c, "shape")[0]), q[0].toFloat(), q[1].toInt()),
                TestFiles.one(c, "input_tensor_sha256")[0], TestFiles.hex(TestFiles.one(c, "raw")[0]), f.name
            )
            val model = ModelFiles.map(AssetManager(modelFile.parentFile), modelFile.name)
            val classifier = ModelClassifier(model, runner, rel, fallback)
            val pixels = PhotoLoader.load(ContentResolver(), Uri.fromFile(photo), classifier.core.config)
            val expected = c["top"]!!
            val result = classifier.classify(pixels.argb, pixels.width, pixels.height, pixels.orientation, expected.size)
            assertEquals("${f.name}: interpreter runs", 1, runner.runs)
            assertEquals("${f.name}: number of results", expected.size, result.predictions.size)
            // float32 scores may pass through a softmax: numpy's exp and Java's may differ in the last bit.
            val float = TestFiles.one(c, "dtype")[0] == "float32"
            for (i in expected.indices) {
                val want = expected[i][2].toDouble().toFloat()
                val got = result.predictions[i]
                assertEquals("${f.name}: rank $i index", expected[i][0].toInt(), got.index)
                assertEquals("${f.name}: rank $i label", expected[i][1], got.label)
                assertEquals("${f.name}: rank $i score", want, got.score, if (float) 2 * Math.ulp(want) else 0f)
            }
            classifier.close()
            assertTrue("${f.name}: closing the classifier closes the interpreter", runner.closed)
            types.add(inLine[0])
            checked++
        }
        assertTrue("float32, uint8 and int8 inputs must all be covered (got $types)",
            types.containsAll(listOf("float32", "uint8", "int8")))
        assertTrue("expected at least 8 lossless parity cases, got $checked", checked >= 8)
    }

    @Test
    fun maxResultsAndThresholdLimitTheResults() {
        val dir = TestFiles.parity
        val case = TestFiles.keyed(File(dir, "tiny_int8_uint8io__exif_orientation_6_123x77_64.case.txt"))
        val raw = TestFiles.hex(TestFiles.one(case, "raw")[0])
        val q = TestFiles.one(case, "quantization")
        val inLine = TestFiles.one(TestFiles.keyed(File(dir, "tiny_int8_uint8io.model.txt")), "input")
        val runner = ReplayRunner(TensorSpec(type(inLine[0]), shape(inLine[1]), inLine[2].toFloat(), inLine[3].toInt()),
            TensorSpec(TensorType.UINT8, intArrayOf(1, 3), q[0].toFloat(), q[1].toInt()),
            TestFiles.one(case, "input_tensor_sha256")[0], raw, "settings")
        val classifier = ModelClassifier(ModelFiles.map(AssetManager(dir), "tiny_int8_uint8io.tflite"), runner, "tiny")
        val pixels = PhotoLoader.load(ContentResolver(), Uri.fromFile(Golden.case("exif_orientation_6_123x77_64").source),
            classifier.core.config)
        val all = classifier.classify(pixels.argb, pixels.width, pixels.height, pixels.orientation, 10, 0f).predictions
        assertEquals(3, all.size)
        assertEquals(1, classifier.classify(pixels.argb, pixels.width, pixels.height, pixels.orientation, 1, 0f).predictions.size)
        val cut = all[1].score + 1e-6f
        val above = classifier.classify(pixels.argb, pixels.width, pixels.height, pixels.orientation, 10, cut).predictions
        assertEquals(listOf(all[0].label), above.map { it.label })
    }
}
