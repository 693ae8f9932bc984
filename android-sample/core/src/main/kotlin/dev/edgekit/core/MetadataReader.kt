package dev.edgekit.core

/**
 * Reads TFLite model metadata and its packed files from the bytes of a `.tflite`, with the rules of Python's
 * `device.metadata.read_model_info`.
 *
 * A `.tflite` is a FlatBuffer (`schema.fbs`) whose `metadata` list may name a buffer `TFLITE_METADATA` holding a
 * second FlatBuffer (`metadata_schema.fbs`, root `ModelMetadata`). Labels and `edge_kit_preprocessing.json` are
 * members of a zip appended to the file ([PackedFiles]).
 */
object MetadataReader {
    const val METADATA_NAME = "TFLITE_METADATA"
    const val PREPROCESSING_FILE = "edge_kit_preprocessing.json"
    const val TENSOR_AXIS_LABELS = "TENSOR_AXIS_LABELS"

    private val FILE_TYPES = arrayOf(
        "UNKNOWN", "DESCRIPTIONS", "TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS", "TENSOR_AXIS_SCORE_CALIBRATION",
        "VOCABULARY", "SCANN_INDEX_FILE"
    )
    private val COLOR_SPACES = arrayOf("UNKNOWN", "RGB", "GRAYSCALE")
    private const val NORMALIZATION_OPTIONS = 1 // ProcessUnitOptions union tag
    private const val IMAGE_PROPERTIES = 2 // ContentProperties union tag

    /**
     * Metadata, packed files, labels and preprocessing parameters of [model]. A model without metadata gives
     * `ModelInfo(metadata = null)`; malformed metadata or packed files raise [ModelException] naming [source].
     */
    fun read(model: ByteArray, source: String = "<model bytes>"): ModelInfo {
        val metaBytes = try {
            findMetadataBuffer(model)
        } catch (e: FlatBufferException) {
            throw ModelException("$source: corrupt or truncated TFLite model (${e.message}); re-copy or re-export it.", e)
        }
        val metadata = if (metaBytes == null) null else try {
            parseModelMetadata(metaBytes)
        } catch (e: FlatBufferException) {
            throw ModelException("$source: corrupt TFLite metadata (${e.message}); re-run the metadata writer.", e)
        }
        if (metadata == null) return ModelInfo(source, null, emptyMap(), null, null, null)
        val packed = PackedFiles.read(model, source)
        var labels: List<String>? = null
        var labelsFile: String? = null
        val labelsEntry = metadata.outputs.firstOrNull()?.fileOfType(TENSOR_AXIS_LABELS)
        if (labelsEntry != null) {
            val bytes = packed[labelsEntry.name] ?: throw ModelException(
                "$source: metadata names the labels file '${labelsEntry.name}' but it is not packed in the model; " +
                    "re-run the metadata writer, or supply labels.txt."
            )
            labelsFile = labelsEntry.name
            labels = Labels.fromBytes(bytes, "$source: packed ${labelsEntry.name}")
        }
        var preprocessing: Map<*, *>? = null
        val prep = packed[PREPROCESSING_FILE]
        if (prep != null) {
            val parsed = try {
                MiniJson.parse(String(prep, Charsets.UTF_8))
            } catch (e: IllegalArgumentException) {
                throw ModelException("$source: packed $PREPROCESSING_FILE is not valid JSON (${e.message}); re-export it.", e)
            }
            preprocessing = parsed as? Map<*, *>
                ?: throw ModelException("$source: packed $PREPROCESSING_FILE is not a JSON object; re-export it.")
        }
        return ModelInfo(source, metadata, packed, labels, labelsFile, preprocessing)
    }

    /** The bytes of the `TFLITE_METADATA` buffer of a `.tflite` FlatBuffer, or `null` if it has none. */
    fun findMetadataBuffer(model: ByteArray): ByteArray? {
        val root = FlatBuffers.root(model)
        val buffers = root.tables(12)
        for (entry in root.tables(16)) { // Model.metadata
            if (entry.string(4) != METADATA_NAME) continue
            val index = entry.u32(6, 0)
            if (index >= buffers.size) throw FlatBufferException("metadata points at buffer $index of ${buffers.size}")
            val buffer = buffers[index.toInt()]
            val v = buffer.vector(4, 1)
            if (v[1] > 0) return model.copyOfRange(v[0], v[0] + v[1])
            val offset = buffer.u64(6, 0)
            val size = buffer.u64(8, 0)
            if (offset > 1 && size > 0) { // large models store buffers after the FlatBuffer
                FlatBuffers.check(model, offset, size)
                return model.copyOfRange(offset.toInt(), (offset + size).toInt())
            }
            return null
        }
        return null
    }

    /** Parse a ModelMetadata FlatBuffer (the bytes of the `TFLITE_METADATA` buffer). */
    fun parseModelMetadata(buf: ByteArray): ModelMetadata {
        val m = FlatBuffers.root(buf)
        val subgraphs = m.tables(10)
        val inputs = if (subgraphs.isEmpty()) emptyList() else subgraphs[0].tables(8).map { tensor(it) }
        val outputs = if (subgraphs.isEmpty()) emptyList() else subgraphs[0].tables(10).map { tensor(it) }
        return ModelMetadata(
            name = m.string(4) ?: "",
            description = m.string(6) ?: "",
            version = m.string(8) ?: "",
            author = m.string(12) ?: "",
            license = m.string(14) ?: "",
            minParserVersion = m.string(18) ?: "",
            inputs = inputs,
            outputs = outputs,
            associatedFiles = files(m, 16)
        )
    }

    private fun files(table: FlatTable, slot: Int): List<AssociatedFile> = table.tables(slot).map {
        val type = it.i8(8, 0)
        AssociatedFile(
            name = it.string(4) ?: "",
            description = it.string(6) ?: "",
            type = if (type in FILE_TYPES.indices) FILE_TYPES[type] else "UNKNOWN",
            locale = it.string(10) ?: ""
        )
    }

    private fun tensor(t: FlatTable): TensorMetadata {
        var mean: FloatArray? = null
        var std: FloatArray? = null
        for (unit in t.tables(12)) { // process_units
            if (unit.u8(4, 0) == NORMALIZATION_OPTIONS) {
                val opts = unit.table(6) ?: continue
                mean = opts.floats(4).takeIf { it.isNotEmpty() }
                std = opts.floats(6).takeIf { it.isNotEmpty() }
            }
        }
        var colorSpace: String? = null
        var defaultSize: IntArray? = null
        val content = t.table(10)
        if (content != null && content.u8(4, 0) == IMAGE_PROPERTIES) {
            val props = content.table(6)
            if (props != null) {
                val cs = props.i8(4, 0)
                colorSpace = if (cs in COLOR_SPACES.indices) COLOR_SPACES[cs] else "UNKNOWN"
                val size = props.table(6)
                if (size != null) defaultSize = intArrayOf(size.u32(4, 0).toInt(), size.u32(6, 0).toInt())
            }
        }
        var statsMin: FloatArray? = null
        var statsMax: FloatArray? = null
        val stats = t.table(14)
        if (stats != null) {
            statsMax = stats.floats(4).takeIf { it.isNotEmpty() }
            statsMin = stats.floats(6).takeIf { it.isNotEmpty() }
        }
        return TensorMetadata(
            name = t.string(4) ?: "",
            description = t.string(6) ?: "",
            mean = mean,
            std = std,
            colorSpace = colorSpace,
            defaultSize = defaultSize,
            statsMin = statsMin,
            statsMax = statsMax,
            associatedFiles = files(t, 16)
        )
    }
}
