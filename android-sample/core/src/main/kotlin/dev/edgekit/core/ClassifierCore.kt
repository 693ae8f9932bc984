package dev.edgekit.core

import java.nio.ByteBuffer

/**
 * Everything of an image classifier except running the graph, with the rules of Python's `device.Classifier`:
 * reads labels and preprocessing parameters from the model's own metadata, turns photos into input tensors and
 * output tensors into ranked predictions. The app pairs it with a LiteRT interpreter; a new model needs no code
 * change.
 *
 * @param model the `.tflite` file's bytes
 * @param input the interpreter's input tensor 0 (must be `[1, height, width, 3]`)
 * @param output the interpreter's output tensor 0 (`[1, classes]` or `[classes]`)
 * @param fallbackLabels labels to use when the model has none packed (e.g. a `labels.txt` beside it)
 */
class ClassifierCore(
    model: ByteArray,
    val input: TensorSpec,
    val output: TensorSpec,
    fallbackLabels: List<String>? = null,
    val source: String = "<model bytes>",
    val scoreType: ScoreType = ScoreType.AUTO,
    val keepBackground: Boolean = false
) {
    val info: ModelInfo = MetadataReader.read(model, source)
    val config: PreprocessConfig
    val encoding: InputEncoding
    val labels: List<String>
    /** Index of the background class (dropped from results unless [keepBackground]), or `null`. */
    val backgroundIndex: Int?

    init {
        val shape = input.shape
        if (shape.size != 4 || shape[0] != 1 || shape[3] != 3) {
            throw ModelException(
                "$source: input shape ${shape.joinToString(prefix = "[", postfix = "]")} is not an RGB image batch " +
                    "[1, height, width, 3]; this app runs image classifiers only."
            )
        }
        val numClasses = numClasses(output.shape, source)
        config = preprocessConfig(info, shape[1], shape[2], source)
        val metaIn = info.metadata?.inputs?.firstOrNull()
        encoding = InputEncoding.make(input, metaIn?.mean, metaIn?.std, source)
        labels = resolveLabels(info.labels, fallbackLabels, numClasses, source)
        backgroundIndex = if (labels.isNotEmpty() && Labels.isBackground(labels[0])) 0 else null
    }

    /** Model input pixels (`height * width * 3` bytes) for stored ARGB pixels with EXIF [orientation]. */
    fun prepare(argb: IntArray, width: Int, height: Int, orientation: Int, reuse: ByteArray? = null): ByteArray {
        val out = reuse ?: ByteArray(config.height * config.width * 3)
        return Preprocessor.preprocessInto(argb, width, height, orientation, config, out)
    }

    /** Size in bytes of the input tensor buffer to allocate (direct, native order). */
    val inputBytes: Int get() = encoding.bytesFor(config.height * config.width * 3)

    /** Size in bytes of the output tensor. */
    val outputBytes: Int get() = output.size * output.type.bytes

    /** Fill the interpreter's input buffer from [pixels] (from [prepare]). */
    fun encode(pixels: ByteArray, inputBuffer: ByteBuffer) = encoding.encode(pixels, inputBuffer)

    /** Class probabilities from the raw output tensor bytes. */
    fun scores(rawOutput: ByteArray): FloatArray = Scores.fromRaw(rawOutput, output, scoreType)

    /** The [topK] best predictions from raw output bytes, background dropped unless [keepBackground]. */
    fun rank(rawOutput: ByteArray, topK: Int = 5, threshold: Float? = null): List<Prediction> =
        TopK.topK(scores(rawOutput), labels, topK, threshold, if (keepBackground) null else backgroundIndex)

    companion object {
        /** Number of classes of an output of [shape] (`[N]` or `[1, N]`). */
        fun numClasses(shape: IntArray, source: String): Int {
            if (shape.size == 1 || (shape.size == 2 && shape[0] == 1)) return shape[shape.size - 1]
            throw ModelException(
                "$source: output shape ${shape.joinToString(prefix = "[", postfix = "]")} is not a classifier output " +
                    "([1, classes]); is this an image classifier?"
            )
        }

        /** The contract parameters: the packed `edge_kit_preprocessing.json`, else centre crop to the input size. */
        fun preprocessConfig(info: ModelInfo, height: Int, width: Int, source: String): PreprocessConfig {
            val packed = info.preprocessing ?: return PreprocessConfig(height, width)
            val config = try {
                PreprocessConfig.fromMap(packed)
            } catch (e: IllegalArgumentException) {
                throw ModelException("$source: packed edge_kit_preprocessing.json is invalid (${e.message}); re-export it.", e)
            }
            if (config.height != height || config.width != width) {
                throw ModelException(
                    "$source: edge_kit_preprocessing.json says ${config.height}x${config.width} but the model input " +
                        "is ${height}x$width; re-export the model."
                )
            }
            return config
        }

        /** Packed labels first, then [fallback]; the count must equal [numClasses]. */
        fun resolveLabels(packed: List<String>?, fallback: List<String>?, numClasses: Int, source: String): List<String> {
            val labels = when {
                packed != null && packed.isNotEmpty() -> packed
                fallback != null && fallback.isNotEmpty() -> fallback
                else -> throw ModelException(
                    "$source: no labels found: the model has no packed labels metadata and no labels.txt was given. " +
                        "Export the model with edge-convert (it packs the labels), or add labels.txt beside it."
                )
            }
            if (labels.size != numClasses) {
                var hint = ""
                if (labels.size == numClasses + 1 && Labels.isBackground(labels[0])) {
                    hint = " The labels start with a background class the model does not have: remove the first line."
                } else if (labels.size + 1 == numClasses) {
                    hint = " The model has a background class at index 0: add a first line 'background'."
                }
                throw ModelException(
                    "$source: ${labels.size} labels but the model has $numClasses outputs; they must match one to one.$hint"
                )
            }
            return labels
        }
    }
}
