package dev.edgekit.sample

import android.content.ContentResolver
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import androidx.exifinterface.media.ExifInterface
import dev.edgekit.core.PreprocessConfig
import dev.edgekit.core.Preprocessor
import java.io.IOException

/**
 * Decodes a picked photo for the core: BitmapFactory (which never applies EXIF orientation, unlike ImageDecoder),
 * ARGB_8888, straight-alpha pixels from `getPixels`, and the EXIF orientation read with androidx ExifInterface so
 * the core re-indexes the pixels exactly as the Python side does.
 */
object PhotoLoader {
    /** Non-JPEG photos above this are decoded with a power-of-two sample size to bound memory (noted). */
    const val MAX_DECODE_PIXELS = 16_000_000L

    /**
     * The stored pixels and orientation of [uri], decoded for a model with [config]: JPEGs much larger than the
     * model are decoded with the contract's DCT scaling (`Preprocessor.decodeScale`, the same rule as Python).
     * Throws [IOException] naming the photo when it cannot be read.
     */
    fun load(resolver: ContentResolver, uri: Uri, config: PreprocessConfig): Pixels {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds) }
            ?: throw IOException("$uri: cannot open the photo")
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) throw IOException("$uri: not an image the decoder reads")
        val orientation = resolver.openInputStream(uri)?.use {
            ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
        } ?: ExifInterface.ORIENTATION_NORMAL
        val isJpeg = bounds.outMimeType == "image/jpeg"
        var sample = if (isJpeg) Preprocessor.decodeScale(bounds.outWidth, bounds.outHeight, orientation, config) else 1
        var memoryBound = false
        while (bounds.outWidth.toLong() * bounds.outHeight / (sample.toLong() * sample) > MAX_DECODE_PIXELS) {
            sample *= 2
            memoryBound = true
        }
        val options = BitmapFactory.Options().apply {
            inPreferredConfig = Bitmap.Config.ARGB_8888
            inSampleSize = sample
        }
        val bitmap = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw IOException("$uri: the photo is corrupt or truncated")
        val note = if (memoryBound) {
            "Large photo: decoded at 1/$sample size to save memory, so scores may differ slightly from edge-classify."
        } else null
        return fromBitmap(bitmap, orientation, note)
    }

    /** The pixels of [bitmap] (recycled afterwards: the caller must not use it again). */
    fun fromBitmap(bitmap: Bitmap, orientation: Int, note: String? = null): Pixels {
        try {
            val argb = IntArray(bitmap.width * bitmap.height)
            // getPixels returns non-premultiplied ARGB, what the contract's alpha step expects.
            bitmap.getPixels(argb, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
            return Pixels(argb, bitmap.width, bitmap.height, orientation, note)
        } finally {
            bitmap.recycle()
        }
    }
}
