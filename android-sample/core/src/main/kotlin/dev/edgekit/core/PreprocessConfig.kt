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
        require(resize in FILTER_OF_VERSION.values) {
            "unknown resize filter '$resize'; this version implements " +
                FILTER_OF_VERSION.values.reversed().joinToString(", ") { "'$it'" }
        }
        require(background.size == 3 && background.all { it in 0..255 }) {
            "background must be three values 0-255, got ${background.joinToString()}"
        }
    }

    /** The contract version that defines [resize]: 1 for `box-bilinear-int`, 2 for `pillow-bilinear` (models made
     *  before version 3), 3 for `pillow-reduce-bilinear`. */
    val version: Int get() = FILTER_OF_VERSION.entries.first { it.value == resize }.key

    override fun toString(): String =
        "PreprocessConfig(${height}x$width, crop=${crop.jsonName}, resize=$resize, background=${background.joinToString()})"

    override fun equals(other: Any?): Boolean = other is PreprocessConfig && other.height == height &&
        other.width == width && other.crop == crop && other.background.contentEquals(background) &&
        other.resize == resize

    override fun hashCode(): Int = ((height * 31 + width) * 31 + crop.hashCode()) * 31 + background.contentHashCode()

    companion object {
        const val CONTRACT_NAME = "edge-kit-preprocess"
        /**
         * Version 3 puts Pillow's box reduction before its bilinear; version 2 made Pillow's fixed-point bilinear
         * the resize and converts ICC-profiled photos to sRGB (step 2); blocks of versions 1 and 2 are still read
         * and applied (their resize; the ICC rule applies to every version).
         */
        const val CONTRACT_VERSION = 3
        /** The resize of contract version 3. */
        const val RESIZE_FILTER = "pillow-reduce-bilinear"
        /** The resize of contract version 2, still applied to models whose metadata names it. */
        const val V2_RESIZE_FILTER = "pillow-bilinear"
        /** The resize of contract version 1, still applied to models whose metadata names it. */
        const val LEGACY_RESIZE_FILTER = "box-bilinear-int"
        /** The resize each contract version defines (what a block without a `resize` field means). */
        val FILTER_OF_VERSION: Map<Int, String> =
            linkedMapOf(1 to LEGACY_RESIZE_FILTER, 2 to V2_RESIZE_FILTER, 3 to RESIZE_FILTER)

        /**
         * Parse the JSON form (`{"contract", "version", "height", "width", "crop", "resize", "background"}`).
         * Refuses other contracts and newer versions, like `PreprocessConfig.from_dict`; a block of an older
         * version without a `resize` field gets its version's filter.
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
                resize = (data["resize"] ?: FILTER_OF_VERSION[version] ?: RESIZE_FILTER).toString()
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
