package dev.edgekit.sample

import androidx.camera.core.ImageProxy
import dev.edgekit.core.Orientation

/**
 * Turns CameraX RGBA_8888 frames into ARGB pixels for the core, reusing its arrays between frames (no Bitmap and
 * no allocation per frame; the core's preprocessing keeps its own scratch per thread too). Only the frame's
 * `cropRect` is kept: bound with the preview's ViewPort, that is the area the preview shows, so the model sees what
 * the user sees (the contract's crop then applies to that area). The sensor rotation (`ImageInfo.rotationDegrees`,
 * which CameraX applies after the crop) becomes the equivalent EXIF orientation, so the core rotates the frame
 * upright exactly as it does photos.
 */
class FrameConverter {
    private var argb = IntArray(0)
    private var row = ByteArray(0)

    fun convert(image: ImageProxy): Pixels {
        val plane = image.planes[0]
        val buffer = plane.buffer
        val rowStride = plane.rowStride
        val pixelStride = plane.pixelStride // 4 for RGBA_8888
        val crop = image.cropRect
        // The crop rectangle clipped to the frame; an empty one means the whole frame.
        var x0 = crop.left.coerceIn(0, image.width)
        var y0 = crop.top.coerceIn(0, image.height)
        var width = crop.right.coerceIn(x0, image.width) - x0
        var height = crop.bottom.coerceIn(y0, image.height) - y0
        if (width == 0 || height == 0) {
            x0 = 0
            y0 = 0
            width = image.width
            height = image.height
        }
        val rowBytes = (width - 1) * pixelStride + 4
        if (argb.size != width * height) argb = IntArray(width * height)
        if (row.size < rowBytes) row = ByteArray(rowBytes)
        for (y in 0 until height) {
            buffer.position((y0 + y) * rowStride + x0 * pixelStride)
            buffer.get(row, 0, minOf(rowBytes, buffer.remaining()))
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
