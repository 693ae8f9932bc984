package dev.edgekit.core

/** Crop modes of the preprocessing contract. */
enum class CropMode(val jsonName: String) {
    /** Largest centred region with the model's aspect ratio (default). */
    CENTER("center"),
    /** The whole image; the aspect ratio changes. */
    STRETCH("stretch");

    companion object {
        /** The mode named [name] in JSON, or an [IllegalArgumentException] listing the valid names. */
        fun fromJson(name: String): CropMode = values().firstOrNull { it.jsonName == name }
            ?: throw IllegalArgumentException("unknown crop mode '$name'; use one of: center, stretch")
    }
}

/**
 * Parameters of the preprocessing contract (docs/preprocessing.md), as stored in every edge-kit `.tflite` as the
 * packed file `edge_kit_preprocessing.json`. Mirrors Python's `device.preprocess.PreprocessConfig`.
 */
class PreprocessConfig(
    val height: Int = 224,
    val width: Int = 224,
    val crop: CropMode = CropMode.CENTER,
    /** Background for transparent pixels, R, G, B in 0..255. */
    val background: IntArray = intArrayOf(255, 255, 255),
    val resize: String = RESIZE_FILTER
) {
    init {
        require(height >= 1 && width >= 1) { "input size must be positive integers, got ${height}x$width" }
        require(resize == RESIZE_FILTER || resize == LEGACY_RESIZE_FILTER) {
            "unknown resize filter '$resize'; this version implements '$RESIZE_FILTER', '$LEGACY_RESIZE_FILTER'"
        }
        require(background.size == 3 && background.all { it in 0..255 }) {
            "background must be three values 0-255, got ${background.joinToString()}"
        }
    }

    /** The contract version that defines [resize]: 1 for `box-bilinear-int` (models made before version 2). */
    val version: Int get() = if (resize == LEGACY_RESIZE_FILTER) 1 else CONTRACT_VERSION

    override fun toString(): String =
        "PreprocessConfig(${height}x$width, crop=${crop.jsonName}, resize=$resize, background=${background.joinToString()})"

    override fun equals(other: Any?): Boolean = other is PreprocessConfig && other.height == height &&
        other.width == width && other.crop == crop && other.background.contentEquals(background) &&
        other.resize == resize

    override fun hashCode(): Int = ((height * 31 + width) * 31 + crop.hashCode()) * 31 + background.contentHashCode()

    companion object {
        const val CONTRACT_NAME = "edge-kit-preprocess"
        /**
         * Version 2 made Pillow's fixed-point bilinear the resize and converts ICC-profiled photos to sRGB (step 2);
         * version 1 blocks are still read and applied (their resize; the ICC rule applies to every version).
         */
        const val CONTRACT_VERSION = 2
        /** The resize of contract version 2. */
        const val RESIZE_FILTER = "pillow-bilinear"
        /** The resize of contract version 1, still applied to models whose metadata names it. */
        const val LEGACY_RESIZE_FILTER = "box-bilinear-int"

        /**
         * Parse the JSON form (`{"contract", "version", "height", "width", "crop", "resize", "background"}`).
         * Refuses other contracts and newer versions, like `PreprocessConfig.from_dict`; a version-1 block without
         * a `resize` field gets version 1's filter.
         */
        fun fromJson(text: String): PreprocessConfig {
            val parsed = MiniJson.parse(text)
            require(parsed is Map<*, *>) { "preprocessing parameters must be a JSON object" }
            return fromMap(parsed)
        }

        /** Same as [fromJson] for an already parsed JSON object. */
        fun fromMap(data: Map<*, *>): PreprocessConfig {
            val contract = data["contract"] ?: CONTRACT_NAME
            require(contract == CONTRACT_NAME) { "not an edge-kit preprocessing block (contract='$contract')" }
            val version = intOf(data["version"] ?: CONTRACT_VERSION.toLong(), "version")
            require(version <= CONTRACT_VERSION) {
                "preprocessing contract version $version is newer than this app ($CONTRACT_VERSION); update the app's core"
            }
            val bg = data["background"] ?: listOf(255L, 255L, 255L)
            require(bg is List<*>) { "background must be a list of three values" }
            return PreprocessConfig(
                height = intOf(data["height"] ?: throw IllegalArgumentException("missing 'height'"), "height"),
                width = intOf(data["width"] ?: throw IllegalArgumentException("missing 'width'"), "width"),
                crop = CropMode.fromJson((data["crop"] ?: "center").toString()),
                background = IntArray(bg.size) { intOf(bg[it], "background") },
                resize = (data["resize"] ?: if (version == 1) LEGACY_RESIZE_FILTER else RESIZE_FILTER).toString()
            )
        }

        private fun intOf(value: Any?, what: String): Int = when (value) {
            is Long -> value.toInt()
            is Int -> value
            is Double -> if (value == Math.floor(value)) value.toInt() else
                throw IllegalArgumentException("'$what' must be an integer, got $value")
            else -> throw IllegalArgumentException("'$what' must be a number, got $value")
        }
    }
}
