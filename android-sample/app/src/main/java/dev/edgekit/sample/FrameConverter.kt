package dev.edgekit.sample

import androidx.camera.core.ImageProxy
import dev.edgekit.core.Orientation

/**
 * Turns CameraX RGBA_8888 frames into ARGB pixels for the core, reusing its arrays between frames (no Bitmap and
 * no allocation per frame; the core's preprocessing keeps its own scratch per thread too). The sensor rotation
 * (`ImageInfo.rotationDegrees`) becomes the equivalent EXIF orientation, so the core rotates the frame upright
 * exactly as it does photos.
 */
class FrameConverter {
    private var argb = IntArray(0)
    private var row = ByteArray(0)

    fun convert(image: ImageProxy): Pixels {
        val plane = image.planes[0]
        val buffer = plane.buffer
        val width = image.width
        val height = image.height
        val rowStride = plane.rowStride
        val pixelStride = plane.pixelStride // 4 for RGBA_8888
        if (argb.size != width * height) argb = IntArray(width * height)
        if (row.size < rowStride) row = ByteArray(rowStride)
        for (y in 0 until height) {
            buffer.position(y * rowStride)
            val n = minOf(rowStride, buffer.remaining())
            buffer.get(row, 0, n)
            var p = 0
            var out = y * width
            for (x in 0 until width) {
                val r = row[p].toInt() and 0xFF
                val g = row[p + 1].toInt() and 0xFF
                val b = row[p + 2].toInt() and 0xFF
                val a = row[p + 3].toInt() and 0xFF
                argb[out++] = (a shl 24) or (r shl 16) or (g shl 8) or b
                p += pixelStride
            }
        }
        buffer.rewind()
        return Pixels(argb, width, height, Orientation.tagForRotation(image.imageInfo.rotationDegrees))
    }
}
