package dev.edgekit.sample

import dev.edgekit.core.ModelException
import dev.edgekit.core.TensorSpec
import dev.edgekit.core.TensorType
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import java.io.Closeable
import java.nio.ByteBuffer

/** What [ModelClassifier] needs of an interpreter: the tensor specs and one invocation. Faked in the JVM tests. */
interface TensorRunner : Closeable {
    val input: TensorSpec
    val output: TensorSpec
    /** Where the model runs, for the screen ("GPU", "CPU (XNNPACK, 2 threads)"). */
    val accelerator: String
    /** Why the GPU was not used although asked for, else null. */
    val fallbackMessage: String?

    /** Run the model: [input] holds the encoded input tensor, [output] receives the raw output tensor. */
    fun run(input: ByteBuffer, output: ByteBuffer)
}

/**
 * A LiteRT [Interpreter] on a memory-mapped model. [useGpu]: the GPU delegate where [CompatibilityList] supports
 * it; on any failure, including errors (a missing vendor OpenCL library throws `UnsatisfiedLinkError`), the delegate
 * is released and the model runs on the CPU (XNNPACK, [threads] threads), and [fallbackMessage] says why.
 */
class LiteRtRunner(model: ByteBuffer, useGpu: Boolean, threads: Int, source: String) : TensorRunner {
    private var gpuDelegate: GpuDelegate? = null
    private var interpreter: Interpreter? = null
    override val input: TensorSpec
    override val output: TensorSpec
    override val accelerator: String
    override val fallbackMessage: String?

    init {
        var message: String? = null
        var created: Interpreter? = null
        if (useGpu) {
            try {
                val compatibility = CompatibilityList()
                try {
                    if (compatibility.isDelegateSupportedOnThisDevice) {
                        val delegate = GpuDelegate(compatibility.bestOptionsForThisDevice)
                        gpuDelegate = delegate
                        created = Interpreter(model, Interpreter.Options().addDelegate(delegate).setNumThreads(threads))
                    } else {
                        message = "GPU delegate not supported on this device; running on the CPU."
                    }
                } finally {
                    compatibility.close()
                }
            } catch (e: Throwable) {
                // Unsupported ops, a driver failure, a missing GPU or OpenCL library (UnsatisfiedLinkError,
                // NoClassDefFoundError): release the delegate and use the CPU. Never kills the app.
                gpuDelegate?.close()
                gpuDelegate = null
                created = null
                message = "GPU delegate failed (${e.message ?: e.javaClass.simpleName}); running on the CPU."
            }
        }
        val interp = created ?: Interpreter(model, Interpreter.Options().setNumThreads(threads).setUseXNNPACK(true))
        interpreter = interp
        accelerator = if (gpuDelegate != null) "GPU" else "CPU (XNNPACK, $threads threads)"
        fallbackMessage = message
        try {
            input = spec(interp.getInputTensor(0), source)
            output = spec(interp.getOutputTensor(0), source)
        } catch (e: Exception) {
            close()
            throw e
        }
    }

    override fun run(input: ByteBuffer, output: ByteBuffer) {
        val interp = interpreter ?: throw IllegalStateException("the classifier is closed")
        interp.run(input, output)
    }

    /** Release the native interpreter, then the GPU delegate it used (in that order). Safe to call twice. */
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
        /** The core's view of an interpreter tensor; other types than float32/uint8/int8 are refused. */
        fun spec(tensor: Tensor, source: String): TensorSpec {
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
