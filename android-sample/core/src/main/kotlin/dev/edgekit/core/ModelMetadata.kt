package dev.edgekit.core

/** A file named by the metadata (packed into the model's zip). */
class AssociatedFile(val name: String, val type: String, val description: String, val locale: String) {
    override fun toString(): String = "AssociatedFile($name, $type)"
}

/** Metadata of one input or output tensor (only what an image classifier needs). */
class TensorMetadata(
    val name: String,
    val description: String,
    /** NormalizationOptions mean (inputs), `null` when absent. */
    val mean: FloatArray?,
    /** NormalizationOptions std, `null` when absent. */
    val std: FloatArray?,
    /** "RGB" / "GRAYSCALE" / "UNKNOWN" for image inputs, else `null`. */
    val colorSpace: String?,
    /** `[width, height]` from ImageProperties, or `null`. */
    val defaultSize: IntArray?,
    val statsMin: FloatArray?,
    val statsMax: FloatArray?,
    val associatedFiles: List<AssociatedFile>
) {
    /** The first associated file of [type] (preferring one without a locale), or `null`. */
    fun fileOfType(type: String): AssociatedFile? {
        val matches = associatedFiles.filter { it.type == type }
        return matches.firstOrNull { it.locale.length == 0 } ?: matches.firstOrNull()
    }
}

/** The `ModelMetadata` table of a model (first subgraph only: classifiers have one). */
class ModelMetadata(
    val name: String,
    val description: String,
    val version: String,
    val author: String,
    val license: String,
    val minParserVersion: String,
    val inputs: List<TensorMetadata>,
    val outputs: List<TensorMetadata>,
    val associatedFiles: List<AssociatedFile>
)

/** Everything read from a `.tflite` besides the graph. */
class ModelInfo(
    /** Model path or "<model bytes>", for messages. */
    val source: String,
    /** `null` when the model has no TFLITE_METADATA. */
    val metadata: ModelMetadata?,
    /** Members of the appended zip, by name. */
    val packedFiles: Map<String, ByteArray>,
    /** Output-0 labels from the packed TENSOR_AXIS_LABELS file, or `null`. */
    val labels: List<String>?,
    val labelsFile: String?,
    /** Parsed `edge_kit_preprocessing.json` (a JSON object) if packed, else `null`. */
    val preprocessing: Map<*, *>?
)
