package dev.edgekit.core

/**
 * Step 4 of the contract: EXIF orientation (1-8; anything else = 1) applied by re-indexing, never by a decoder.
 *
 * For a stored image `width x height`, the upright pixel `(x, y)` is stored at index `start + x * stepX + y * stepY`
 * of the row-major pixel array (docs/preprocessing.md, table of step 4).
 */
class Orientation private constructor(
    val tag: Int,
    /** Width of the upright image. */
    val uprightWidth: Int,
    /** Height of the upright image. */
    val uprightHeight: Int,
    val start: Int,
    val stepX: Int,
    val stepY: Int
) {
    /** Index into the stored pixel array of upright pixel `(x, y)`. */
    fun index(x: Int, y: Int): Int = start + x * stepX + y * stepY

    companion object {
        /** The mapping of EXIF [tag] for a stored image of [width] x [height]. */
        fun of(tag: Int, width: Int, height: Int): Orientation {
            val w = width
            val h = height
            val last = (h - 1) * w
            return when (tag) {
                2 -> Orientation(2, w, h, w - 1, -1, w)
                3 -> Orientation(3, w, h, last + w - 1, -1, -w)
                4 -> Orientation(4, w, h, last, 1, -w)
                5 -> Orientation(5, h, w, 0, w, 1)
                6 -> Orientation(6, h, w, last, -w, 1)
                7 -> Orientation(7, h, w, last + w - 1, -w, -1)
                8 -> Orientation(8, h, w, w - 1, w, -1)
                else -> Orientation(1, w, h, 0, 1, w)
            }
        }

        /** EXIF orientation equivalent to rotating the stored image clockwise by [degrees] (0, 90, 180, 270),
         *  e.g. CameraX's `ImageInfo.rotationDegrees`. */
        fun tagForRotation(degrees: Int): Int = when (((degrees % 360) + 360) % 360) {
            90 -> 6
            180 -> 3
            270 -> 8
            else -> 1
        }
    }
}
