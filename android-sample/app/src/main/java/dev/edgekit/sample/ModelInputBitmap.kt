package dev.edgekit.sample

import android.graphics.Bitmap

/** A small Bitmap of the model's input pixels, to show what the model sees. */
object ModelInputBitmap {
    fun fromRgb(rgb: ByteArray, width: Int, height: Int): Bitmap? {
        if (rgb.size != width * height * 3) return null
        val argb = IntArray(width * height) {
            val r = rgb[3 * it].toInt() and 0xFF
            val g = rgb[3 * it + 1].toInt() and 0xFF
            val b = rgb[3 * it + 2].toInt() and 0xFF
            (0xFF shl 24) or (r shl 16) or (g shl 8) or b
        }
        return Bitmap.createBitmap(argb, width, height, Bitmap.Config.ARGB_8888)
    }
}
