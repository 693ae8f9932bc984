package dev.edgekit.sample

import android.app.Application
import android.content.res.AssetManager
import android.net.Uri
import dev.edgekit.core.TestFiles
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor
import java.io.File
import java.nio.ByteBuffer
import java.nio.file.Files
import java.util.function.BiConsumer

/**
 * The gallery flow as the screen sees it: the ViewModel lists the bundled models, memory-maps and loads the default
 * one, classifies a picked photo on its inference thread (PhotoLoader, core, interpreter) and applies the settings.
 * The LiteRT stand-in requires Python's input tensor and replays Python's raw output (int8 model, uint8 I/O).
 */
class ClassifierViewModelTest {
    private lateinit var assetDir: File
    private val case = TestFiles.keyed(File(TestFiles.parity, "tiny_int8_uint8io__exif_orientation_6_123x77_64.case.txt"))
    private var runs = 0

    private fun tensor(type: DataType, shape: IntArray, scale: Float, zero: Int) = object : Tensor {
        override fun dataType() = type
        override fun shape() = shape
        override fun quantizationParams() = Tensor.QuantizationParams(scale, zero)
    }

    @Before
    fun setUp() {
        assetDir = Files.createTempDirectory("assetDir").toFile()
        File(TestFiles.parity, "tiny_int8_uint8io.tflite").copyTo(File(assetDir, "model.tflite"))
        File(TestFiles.parity, "tiny_int8_int8io.tflite").copyTo(File(assetDir, "model_int8_io.tflite"))
        val input = TestFiles.one(TestFiles.keyed(File(TestFiles.parity, "tiny_int8_uint8io.model.txt")), "input")
        val q = TestFiles.one(case, "quantization")
        Interpreter.stubInput = tensor(DataType.UINT8, intArrayOf(1, 64, 64, 3), input[2].toFloat(), input[3].toInt())
        Interpreter.stubOutput = tensor(DataType.UINT8, intArrayOf(1, 3), q[0].toFloat(), q[1].toInt())
        Interpreter.created.clear()
        val raw = TestFiles.hex(TestFiles.one(case, "raw")[0])
        val inputSha = TestFiles.one(case, "input_tensor_sha256")[0]
        Interpreter.stubRun = BiConsumer { i, o ->
            val inBuf = (i as ByteBuffer).duplicate()
            val bytes = ByteArray(inBuf.remaining()).also { inBuf.get(it) }
            assertEquals("input tensor (SHA-256 of what Python fed)", inputSha, TestFiles.sha256(bytes))
            (o as ByteBuffer).put(raw)
            runs++
        }
    }

    @After
    fun tearDown() {
        Interpreter.stubRun = null
        Interpreter.stubInput = null
        Interpreter.stubOutput = null
        assetDir.deleteRecursively()
    }

    private fun ClassifierViewModel.idle() = inferenceExecutor.submit {}.get()

    @Test
    fun pickedPhotoIsClassifiedLikePythonAndSettingsApply() {
        val app = Application().apply { assetManager = AssetManager(assetDir) }
        val vm = ClassifierViewModel(app)
        vm.idle()
        var s = vm.state.value!!
        assertEquals(listOf("model.tflite", "model_int8_io.tflite"), s.models)
        assertTrue(s.modelSummary, s.modelSummary.contains("3 classes") && s.modelSummary.contains("64x64"))
        assertNull(s.message)

        val photo = Uri.fromFile(File(TestFiles.golden, "exif_orientation_6_123x77_64.png"))
        vm.classifyPhoto(photo)
        vm.idle()
        s = vm.state.value!!
        assertNull(s.message, s.message)
        assertEquals(UiState.Mode.PHOTO, s.mode)
        assertEquals(1, runs)
        val python = case["top"]!!
        assertEquals("default: 3 results above 0.1", python.map { it[1] }, s.predictions.map { it.label })
        assertEquals(python[0][2].toFloat(), s.predictions[0].score)
        assertNotNull("what the model sees", s.modelInput)

        vm.apply(s.settings.nextThreshold()) // 0.1 -> 0.3: no new interpreter
        assertEquals(1, Interpreter.created.size)
        vm.classifyPhoto(photo)
        vm.idle()
        s = vm.state.value!!
        assertEquals(python.filter { it[2].toFloat() >= 0.3f }.map { it[1] }, s.predictions.map { it.label })

        vm.apply(s.settings.nextModel(s.models)) // another bundled model: a new interpreter
        vm.idle()
        assertEquals(2, Interpreter.created.size)
        assertTrue(vm.state.value!!.modelSummary, vm.state.value!!.modelSummary.contains("model_int8_io.tflite"))
    }

    @Test
    fun missingModelSaysHowToAddOne() {
        File(assetDir, "model.tflite").delete()
        File(assetDir, "model_int8_io.tflite").delete()
        val vm = ClassifierViewModel(Application().apply { assetManager = AssetManager(assetDir) })
        vm.idle()
        val s = vm.state.value!!
        assertEquals("No model", s.modelSummary)
        assertTrue(s.message!!, s.message!!.contains("edge-convert export"))
        vm.classifyPhoto(Uri.fromFile(File(TestFiles.golden, "exif_orientation_6_123x77_64.png")))
        vm.idle()
        assertTrue(vm.state.value!!.message!!, vm.state.value!!.message!!.contains("No model loaded"))
    }
}
