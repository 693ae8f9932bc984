package dev.edgekit.sample

import android.os.SystemClock
import dev.edgekit.core.ClassifierCore
import dev.edgekit.core.ModelException
import dev.edgekit.core.Prediction
import dev.edgekit.core.TensorSpec
import dev.edgekit.core.TensorType
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import java.io.Closeable
import java.nio.ByteBuffer
import java.nio.ByteOrder

/** One classification: the best results, the time of each stage and where the model ran. */
class Classification(
    val predictions: List<Prediction>,
    val scores: FloatArray,
    val preprocessMs: Double,
    val inferenceMs: Double,
    val accelerator: String
)

/**
 * A LiteRT interpreter paired with the edge-kit core, which reads the labels and preprocessing parameters from the
 * model's own metadata. Not thread-safe: call it from one thread (the app uses one inference executor).
 *
 * [useGpu]: try the GPU delegate where [CompatibilityList] says it is supported; on any failure it runs on the CPU
 * (XNNPACK, [threads] threads) and [fallbackMessage] says why.
 */
class ModelClassifier(
    modelBytes: ByteArray,
    source: String,
    useGpu: Boolean,
    val threads: Int,
    fallbackLabels: List<String>? = null
) : Closeable {
    private var gpuDelegate: GpuDelegate? = null
    private var interpreter: Interpreter? = null
    val core: ClassifierCore
    val accelerator: String
    /** Why the GPU was not used although asked for, else null. */
    val fallbackMessage: String?
    private val inputBuffer: ByteBuffer
    private val outputBuffer: ByteBuffer
    private val outputBytes: ByteArray
    private var pixels: ByteArray? = null

    init {
        val model = ByteBuffer.allocateDirect(modelBytes.size).order(ByteOrder.nativeOrder())
        model.put(modelBytes).rewind()
        var message: String? = null
        var created: Interpreter? = null
        if (useGpu) {
            val compatibility = CompatibilityList()
            try {
                if (compatibility.isDelegateSupportedOnThisDevice) {
                    val delegate = GpuDelegate(compatibility.bestOptionsForThisDevice)
                    gpuDelegate = delegate
                    created = Interpreter(model, Interpreter.Options().addDelegate(delegate).setNumThreads(threads))
                } else {
                    message = "GPU delegate not supported on this device; running on the CPU."
                }
            } catch (e: Exception) {
                // Unsupported ops, a driver failure or a missing GPU library: release the delegate, use the CPU.
                gpuDelegate?.close()
                gpuDelegate = null
                message = "GPU delegate failed (${e.message ?: e.javaClass.simpleName}); running on the CPU."
            } finally {
                compatibility.close()
            }
        }
        val interp = created ?: Interpreter(
            model, Interpreter.Options().setNumThreads(threads).setUseXNNPACK(true)
        )
        interpreter = interp
        accelerator = if (gpuDelegate != null) "GPU" else "CPU (XNNPACK, $threads threads)"
        fallbackMessage = message
        core = try {
            ClassifierCore(
                modelBytes, spec(interp.getInputTensor(0), source), spec(interp.getOutputTensor(0), source),
                fallbackLabels, source
            )
        } catch (e: Exception) {
            close() // not a usable classifier: release the native interpreter and delegate now
            throw e
        }
        inputBuffer = ByteBuffer.allocateDirect(core.inputBytes).order(ByteOrder.nativeOrder())
        outputBuffer = ByteBuffer.allocateDirect(core.outputBytes).order(ByteOrder.nativeOrder())
        outputBytes = ByteArray(core.outputBytes)
    }

    /** Classify stored ARGB pixels (`Bitmap.getPixels` order) with EXIF [orientation] 1-8. */
    fun classify(argb: IntArray, width: Int, height: Int, orientation: Int, topK: Int = 5): Classification {
        val t0 = SystemClock.elapsedRealtimeNanos()
        val prepared = core.prepare(argb, width, height, orientation, pixels)
        pixels = prepared
        core.encode(prepared, inputBuffer)
        val t1 = SystemClock.elapsedRealtimeNanos()
        outputBuffer.rewind()
        val interp = interpreter ?: throw IllegalStateException("the classifier is closed")
        interp.run(inputBuffer, outputBuffer)
        val t2 = SystemClock.elapsedRealtimeNanos()
        outputBuffer.rewind()
        outputBuffer.get(outputBytes)
        val scores = core.scores(outputBytes)
        return Classification(core.rank(outputBytes, topK), scores, (t1 - t0) / 1e6, (t2 - t1) / 1e6, accelerator)
    }

    /** Release the native interpreter, then the GPU delegate it used (in that order). Safe to call twice. */
    /** The model input pixels of the last [classify] call (`height * width * 3` RGB bytes; reused, copy to keep). */
    fun lastInput(): ByteArray = pixels ?: ByteArray(0)

    override fun close() {
        try {
            interpreter?.close()
        } finally {
            interpreter = null
            gpuDelegate?.close()
            gpuDelegate = null
        }
    }

    companion object {
        private fun spec(tensor: Tensor, source: String): TensorSpec {
            val type = when (tensor.dataType()) {
                DataType.FLOAT32 -> TensorType.FLOAT32
                DataType.UINT8 -> TensorType.UINT8
                DataType.INT8 -> TensorType.INT8
                else -> throw ModelException(
                    "$source: tensor type ${tensor.dataType()} is not supported; image classifiers take and give " +
                        "float32, uint8 or int8. Re-convert the model."
                )
            }
            val q = tensor.quantizationParams()
            return TensorSpec(type, tensor.shape(), q.scale, q.zeroPoint)
        }
    }
}
