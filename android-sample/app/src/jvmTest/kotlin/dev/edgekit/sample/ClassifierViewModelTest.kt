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
import java.util.concurrent.Callable
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.function.BiConsumer

/**
 * The screen's flows through the ViewModel: it lists the bundled models, memory-maps and loads the default one,
 * classifies a picked photo on its inference thread (PhotoLoader, core, interpreter) and applies the settings;
 * the CameraX analyzer classifies frames (their crop rectangle, rotated upright) in camera mode only; a result never
 * lands in the other mode; after the ViewModel is cleared, late frames are closed, not rejected. The LiteRT
 * stand-in requires Python's input tensor and replays Python's raw output (int8 model, uint8 I/O).
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
        // Let every ViewModel's queued work finish before the next test's stand-in takes over (a failed test must
        // not leak runs into the next one).
        for (vm in made) {
            try {
                vm.inferenceExecutor.submit {}.get(30, TimeUnit.SECONDS)
            } catch (e: Exception) {
                // a hung or failed task: the test itself has reported what went wrong
            }
        }
        Interpreter.stubRun = null
        Interpreter.stubInput = null
        Interpreter.stubOutput = null
        assetDir.deleteRecursively()
    }

    private fun ClassifierViewModel.idle() = inferenceExecutor.submit {}.get()

    private val made = ArrayList<ClassifierViewModel>()

    private fun viewModel(): ClassifierViewModel =
        ClassifierViewModel(Application().apply { assetManager = AssetManager(assetDir) }).also {
            made.add(it)
            it.idle()
        }

    private val golden = Golden.case("exif_orientation_6_123x77_64")
    private val photo = Uri.fromFile(File(TestFiles.golden, "exif_orientation_6_123x77_64.png"))
    private val pythonTop: List<String> get() = case["top"]!!.map { it[1] }

    /** The golden photo's stored pixels as a camera frame: its EXIF 6 is a 90° sensor rotation; a junk border
     *  around them is outside the crop rectangle. */
    private fun frame(): RgbaFrame = RgbaFrame(golden.argb, golden.width, golden.height, rotation = 90, border = 5)

    private fun ClassifierViewModel.analyze(frame: RgbaFrame) = inferenceExecutor.submit { analyzer.analyze(frame) }.get()

    /** Make the next interpreter run wait: returns (entered, release). */
    private fun holdNextRun(): Pair<CountDownLatch, CountDownLatch> {
        val entered = CountDownLatch(1)
        val release = CountDownLatch(1)
        val check = Interpreter.stubRun!!
        Interpreter.stubRun = BiConsumer { i, o ->
            entered.countDown()
            release.await()
            check.accept(i, o)
        }
        return entered to release
    }

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

    @Test
    fun cameraFramesAreClassifiedLikePythonWithinTheirCropRect() {
        val vm = viewModel()
        val frame = frame()
        vm.analyze(frame)
        val s = vm.state.value!!
        assertNull(s.message, s.message)
        assertEquals(UiState.Mode.CAMERA, s.mode)
        assertEquals("the interpreter got Python's input tensor for the upright photo", 1, runs)
        assertEquals(pythonTop, s.predictions.map { it.label })
        assertTrue("every frame is closed", frame.closed)
    }

    @Test
    fun framesAreSkippedWhileAPhotoIsShown() {
        val vm = viewModel()
        vm.classifyPhoto(photo)
        vm.idle()
        val shown = vm.state.value!!.predictions
        val frame = frame()
        vm.analyze(frame)
        assertEquals("only the photo ran", 1, runs)
        assertTrue(frame.closed)
        assertEquals(shown, vm.state.value!!.predictions)
    }

    @Test
    fun aFrameFinishingAfterAPhotoWasPickedDoesNotOverwriteIt() {
        val vm = viewModel()
        val (entered, release) = holdNextRun()
        vm.inferenceExecutor.execute { vm.analyzer.analyze(frame()) }
        entered.await() // the frame is in the interpreter...
        val between = vm.inferenceExecutor.submit(Callable { vm.state.value!! }) // runs right after the frame
        vm.classifyPhoto(photo) // ...when the user picks a photo
        release.countDown()
        val s = between.get()
        assertEquals(UiState.Mode.PHOTO, s.mode)
        assertEquals("the frame's results must not show over the photo", emptyList<String>(), s.predictions.map { it.label })
        vm.idle()
        assertEquals(pythonTop, vm.state.value!!.predictions.map { it.label })
        assertEquals(2, runs)
    }

    @Test
    fun aPhotoFinishingAfterLiveCameraDoesNotOverwriteTheCamera() {
        val vm = viewModel()
        val (entered, release) = holdNextRun()
        vm.classifyPhoto(photo)
        entered.await() // the photo is in the interpreter...
        vm.useCamera() // ...when the user taps "Live camera"
        val between = vm.inferenceExecutor.submit(Callable { vm.state.value!! })
        release.countDown()
        val s = between.get()
        assertEquals(UiState.Mode.CAMERA, s.mode)
        assertEquals(emptyList<String>(), s.predictions.map { it.label })
        assertNull("no photo's model input in camera mode", s.modelInput)
    }

    @Test
    fun afterClearingLateFramesAreClosedNotRejected() {
        val vm = viewModel()
        vm.javaClass.getDeclaredMethod("onCleared").apply { isAccessible = true }.invoke(vm)
        vm.idle()
        // CameraX may still deliver a frame to the executor it was given: accepted, closed, not classified.
        val frame = frame()
        vm.inferenceExecutor.execute { vm.analyzer.analyze(frame) }
        vm.idle()
        assertTrue(frame.closed)
        assertEquals(0, runs)
        vm.classifyPhoto(photo) // the interpreter was closed and dropped
        vm.idle()
        assertEquals(0, runs)
        assertTrue(vm.state.value!!.message!!, vm.state.value!!.message!!.contains("No model loaded"))
    }
}
