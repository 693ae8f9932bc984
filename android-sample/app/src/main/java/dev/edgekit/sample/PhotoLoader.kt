package dev.edgekit.sample

import android.content.ContentResolver
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.ColorSpace
import android.net.Uri
import android.os.Build
import androidx.exifinterface.media.ExifInterface
import dev.edgekit.core.PreprocessConfig
import dev.edgekit.core.Preprocessor
import java.io.IOException
import java.io.InputStream

/**
 * Decodes a picked photo for the core: BitmapFactory (which never applies EXIF orientation, unlike ImageDecoder),
 * ARGB_8888 converted to sRGB with the photo's ICC profile (contract step 2), straight-alpha pixels from
 * `getPixels`, and the EXIF orientation read with androidx ExifInterface so the core re-indexes the pixels exactly
 * as the Python side does.
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
        // Bounds pass: with inJustDecodeBounds the decoder returns null BY DESIGN and fills outWidth/outHeight.
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        open(resolver, uri).use { BitmapFactory.decodeStream(it, null, bounds) }
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) throw IOException("$uri: not an image the decoder reads")
        val orientation = open(resolver, uri).use {
            ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
        }
        val isJpeg = bounds.outMimeType == "image/jpeg"
        val contractScale = sampleSize(bounds.outWidth, bounds.outHeight, isJpeg, orientation, config, Long.MAX_VALUE)
        val sample = sampleSize(bounds.outWidth, bounds.outHeight, isJpeg, orientation, config)
        val options = BitmapFactory.Options().apply {
            inPreferredConfig = Bitmap.Config.ARGB_8888
            inSampleSize = sample
            // Contract step 2: ICC-profiled photos (Display P3, Adobe RGB) are converted to sRGB while decoding.
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) inPreferredColorSpace = ColorSpace.get(ColorSpace.Named.SRGB)
        }
        val bitmap = open(resolver, uri).use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw IOException("$uri: the photo is corrupt or truncated")
        val note = if (sample != contractScale) {
            "Large photo: decoded at 1/$sample size to save memory, so scores may differ slightly from edge-classify."
        } else null
        return fromBitmap(bitmap, orientation, note)
    }

    /**
     * The decoder's `inSampleSize`: the contract's JPEG DCT scale (1 for other formats), doubled while the decoded
     * photo would exceed [maxPixels].
     */
    fun sampleSize(
        width: Int, height: Int, isJpeg: Boolean, orientation: Int, config: PreprocessConfig,
        maxPixels: Long = MAX_DECODE_PIXELS
    ): Int {
        var sample = if (isJpeg) Preprocessor.decodeScale(width, height, orientation, config) else 1
        while (width.toLong() * height / (sample.toLong() * sample) > maxPixels) sample *= 2
        return sample
    }

    private fun open(resolver: ContentResolver, uri: Uri): InputStream =
        resolver.openInputStream(uri) ?: throw IOException("$uri: cannot open the photo (the provider returned nothing)")

    /** The pixels of [bitmap] (recycled afterwards: the caller must not use it again). */
    fun fromBitmap(bitmap: Bitmap, orientation: Int, note: String? = null): Pixels {
        try {
            val argb = IntArray(bitmap.width * bitmap.height)
            // getPixels returns non-premultiplied sRGB ARGB, what the contract's alpha step expects.
            bitmap.getPixels(argb, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
            return Pixels(argb, bitmap.width, bitmap.height, orientation, note)
        } finally {
            bitmap.recycle()
        }
    }
}
