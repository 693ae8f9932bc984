package dev.edgekit.sample

import android.os.SystemClock
import dev.edgekit.core.ClassifierCore
import dev.edgekit.core.Prediction
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
 * A [TensorRunner] (LiteRT in the app) paired with the edge-kit core, which reads the labels and preprocessing
 * parameters from the model's own metadata. Not thread-safe: call it from one thread (the app uses one inference
 * executor). Closing it closes the runner.
 *
 * @param model the model file (memory-mapped in the app); the core reads its metadata from a temporary copy
 */
class ModelClassifier(
    model: ByteBuffer,
    private val runner: TensorRunner,
    source: String,
    fallbackLabels: List<String>? = null
) : Closeable {
    val core: ClassifierCore
    val accelerator: String get() = runner.accelerator
    val fallbackMessage: String? get() = runner.fallbackMessage
    private val inputBuffer: ByteBuffer
    private val outputBuffer: ByteBuffer
    private val outputBytes: ByteArray
    private var pixels: ByteArray? = null

    init {
        core = try {
            ClassifierCore(metadataBytes(model), runner.input, runner.output, fallbackLabels, source)
        } catch (e: Exception) {
            runner.close() // not a usable classifier: release the native interpreter and delegate now
            throw e
        }
        inputBuffer = ByteBuffer.allocateDirect(core.inputBytes).order(ByteOrder.nativeOrder())
        outputBuffer = ByteBuffer.allocateDirect(core.outputBytes).order(ByteOrder.nativeOrder())
        outputBytes = ByteArray(core.outputBytes)
    }

    /**
     * Classify stored ARGB pixels (`Bitmap.getPixels` order) with EXIF [orientation] 1-8: at most [maxResults]
     * predictions whose score is at least [threshold] (0 keeps all).
     */
    fun classify(
        argb: IntArray, width: Int, height: Int, orientation: Int, maxResults: Int = 5, threshold: Float = 0f
    ): Classification {
        val t0 = SystemClock.elapsedRealtimeNanos()
        val prepared = core.prepare(argb, width, height, orientation, pixels)
        pixels = prepared
        core.encode(prepared, inputBuffer)
        val t1 = SystemClock.elapsedRealtimeNanos()
        outputBuffer.rewind()
        runner.run(inputBuffer, outputBuffer)
        val t2 = SystemClock.elapsedRealtimeNanos()
        outputBuffer.rewind()
        outputBuffer.get(outputBytes)
        val scores = core.scores(outputBytes)
        val ranked = core.rank(outputBytes, maxResults, if (threshold > 0f) threshold else null)
        return Classification(ranked, scores, (t1 - t0) / 1e6, (t2 - t1) / 1e6, runner.accelerator)
    }

    /** The model input pixels of the last [classify] call (`height * width * 3` RGB bytes; reused, copy to keep). */
    fun lastInput(): ByteArray = pixels ?: ByteArray(0)

    override fun close() = runner.close()

    companion object {
        /**
         * The model's bytes for the metadata reader, a temporary copy released once the core is built (the core
         * parses a byte array); the interpreter keeps using [model] itself.
         */
        private fun metadataBytes(model: ByteBuffer): ByteArray {
            val view = model.duplicate()
            view.rewind()
            return ByteArray(view.remaining()).also { view.get(it) }
        }
    }
}
