package dev.edgekit.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Parity with Python's `device` package on real models (files made by tests/android/make_parity.py):
 * labels, preprocessing parameters and input encoding read from each model, and top-5 labels and scores from raw
 * output tensors the Python runtime produced for real photos.
 */
class ParityTest {
    private fun index(kind: String): List<File> = TestFiles.keyed(File(TestFiles.parity, "index.txt"))[kind]!!
        .map { File(TestFiles.parity, it[0]) }

    private fun modelFile(rel: String): File = TestFiles.model(rel)

    private fun type(name: String): TensorType = when (name) {
        "float32" -> TensorType.FLOAT32
        "uint8" -> TensorType.UINT8
        "int8" -> TensorType.INT8
        else -> throw AssertionError("unexpected dtype $name")
    }

    private fun shape(text: String): IntArray = text.split(" ").map { it.toInt() }.toIntArray()

    /** The core for a parity model file, with a fake output spec (replaced per case). */
    private fun core(model: Map<String, List<List<String>>>, output: TensorSpec): ClassifierCore {
        val rel = TestFiles.one(model, "model")[0]
        val file = modelFile(rel)
        val input = TestFiles.one(model, "input")
        val inSpec = TensorSpec(type(input[0]), shape(input[1]), input[2].toFloat(), input[3].toInt())
        val source = TestFiles.one(model, "labels_source")[0]
        val fallback = if (source.startsWith("beside:")) Labels.parse(File(TestFiles.assets, source.removePrefix("beside:")).readBytes()) else null
        return ClassifierCore(file.readBytes(), inSpec, output, fallback, source = rel)
    }

    @Test
    fun labelsConfigAndInputEncodingMatchPython() {
        val models = index("model")
        assertTrue("expected the parity models, found ${models.size}", models.size >= 6)
        for (f in models) {
            val m = TestFiles.keyed(f)
            val classes = TestFiles.one(m, "labels_count")[0].toInt()
            val core = core(m, TensorSpec(TensorType.FLOAT32, intArrayOf(1, classes)))
            val name = f.name
            assertEquals("$name: label count", classes, core.labels.size)
            assertEquals("$name: labels SHA-256", TestFiles.one(m, "labels_sha256")[0],
                TestFiles.sha256(core.labels.joinToString("\n").toByteArray(Charsets.UTF_8)))
            assertEquals("$name: first label", TestFiles.one(m, "labels_first")[0], core.labels[0])
            assertEquals("$name: last label", TestFiles.one(m, "labels_last")[0], core.labels[core.labels.size - 1])
            assertEquals("$name: background", TestFiles.one(m, "background_index")[0].toInt(), core.backgroundIndex ?: -1)
            val cfg = TestFiles.one(m, "config")
            val expected = PreprocessConfig(cfg[0].toInt(), cfg[1].toInt(), CropMode.fromJson(cfg[2]),
                cfg[3].split(" ").map { it.toInt() }.toIntArray(), cfg[4])
            assertEquals("$name: preprocessing", expected, core.config)
            val packed = TestFiles.one(m, "preprocessing")[0]
            assertEquals("$name: packed preprocessing present", packed != "none", core.info.preprocessing != null)
            val enc = TestFiles.one(m, "encoding")
            assertEquals("$name: encoding mode", enc[1], core.encoding.mode)
            assertEquals("$name: encoding offset", enc[2].toInt(), core.encoding.offset)
            val norm = m["norm"]?.firstOrNull()
            val metaIn = core.info.metadata?.inputs?.firstOrNull()
            if (norm != null) {
                assertEquals("$name: normalisation mean", norm[0], metaIn!!.mean!!.joinToString(" ") { it.toDouble().toString() })
                assertEquals("$name: normalisation std", norm[1], metaIn.std!!.joinToString(" ") { it.toDouble().toString() })
            }
            for (line in m["input_sha256"] ?: emptyList<List<String>>()) {
                val pixels = File(TestFiles.golden, line[0]).readBytes()
                val buffer = ByteBuffer.allocate(core.inputBytes).order(ByteOrder.nativeOrder())
                core.encode(pixels, buffer)
                val bytes = ByteArray(core.inputBytes)
                if (core.encoding.type == TensorType.FLOAT32) {
                    // Python hashed little-endian float32 (numpy on x86/ARM); write the same order here.
                    val le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
                    val floats = buffer.asFloatBuffer()
                    while (floats.hasRemaining()) le.putFloat(floats.get())
                } else buffer.get(bytes)
                assertEquals("$name: input tensor from ${line[0]}", line[1], TestFiles.sha256(bytes))
            }
        }
    }

    @Test
    fun topFiveLabelsAndScoresMatchPython() {
        val cases = index("case")
        assertTrue("expected the parity cases, found ${cases.size}", cases.size >= 20)
        val cores = HashMap<String, ClassifierCore>()
        var softmaxCases = 0
        for (f in cases) {
            val c = TestFiles.keyed(f)
            val q = TestFiles.one(c, "quantization")
            val out = TensorSpec(type(TestFiles.one(c, "dtype")[0]), shape(TestFiles.one(c, "shape")[0]), q[0].toFloat(), q[1].toInt())
            val modelName = TestFiles.one(c, "model")[0]
            val base = cores.getOrPut(modelName) {
                core(TestFiles.keyed(File(TestFiles.parity, modelName)), out)
            }
            val core = ClassifierCore(modelFile(base.source).readBytes(), base.input, out,
                base.labels, source = base.source)
            val raw = TestFiles.hex(TestFiles.one(c, "raw")[0])
            assertEquals("${f.name}: raw size", core.outputBytes, raw.size)
            val got = core.rank(raw, 5)
            val expected = c["top"]!!
            val logits = Scores.fromRaw(raw, out, ScoreType.PROBABILITIES)
            val softmax = !Scores.fromRaw(raw, out).contentEquals(logits)
            if (softmax) softmaxCases++
            assertEquals("${f.name}: number of results", expected.size, got.size)
            for (i in expected.indices) {
                val e = expected[i]
                val g = got[i]
                assertEquals("${f.name}: rank $i index", e[0].toInt(), g.index)
                assertEquals("${f.name}: rank $i label", e[1], g.label)
                val want = e[2].toDouble().toFloat()
                if (softmax) {
                    // Python's softmax uses numpy's exp; Java's may differ in the last bit of a double.
                    assertEquals("${f.name}: rank $i score", want, g.score, 2 * Math.ulp(want))
                } else {
                    assertTrue("${f.name}: rank $i score ${g.score} != $want (exact)", want == g.score)
                }
            }
        }
        assertTrue("parity cases must include softmax (logits) outputs", softmaxCases >= 5)
    }
}
