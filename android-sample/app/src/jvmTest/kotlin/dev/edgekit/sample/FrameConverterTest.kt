package dev.edgekit.sample

import android.graphics.Rect
import androidx.camera.core.ImageInfo
import androidx.camera.core.ImageProxy
import dev.edgekit.core.Orientation
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test
import java.nio.ByteBuffer

/**
 * CameraX RGBA_8888 frames with row padding, at every sensor rotation, become the right upright pixels; only the
 * frame's crop rectangle is kept.
 */
class FrameConverterTest {
    private class Frame(
        private val data: ByteBuffer, private val w: Int, private val h: Int, private val stride: Int,
        private val rotation: Int, private val crop: Rect = Rect(0, 0, w, h)
    ) : ImageProxy {
        var closed = false
        override fun getCropRect(): Rect = crop
        override fun getPlanes(): Array<ImageProxy.PlaneProxy> = arrayOf(object : ImageProxy.PlaneProxy {
            override fun getBuffer(): ByteBuffer = data
            override fun getRowStride(): Int = stride
            override fun getPixelStride(): Int = 4
        })
        override fun getWidth(): Int = w
        override fun getHeight(): Int = h
        override fun getImageInfo(): ImageInfo = object : ImageInfo {
            override fun getRotationDegrees(): Int = rotation
        }
        override fun close() { closed = true }
    }

    /** A distinct opaque colour per stored pixel. */
    private fun colour(x: Int, y: Int): Int = (0xFF shl 24) or ((x * 37 + 5) shl 16) or ((y * 53 + 7) shl 8) or ((x + y) * 11)

    /** RGBA rows of [w] pixels, each row [stride] bytes long (padding filled with junk), the last row unpadded
     *  when [trimLast] (CameraX buffers may end right after the last pixel). */
    private fun frame(w: Int, h: Int, stride: Int, rotation: Int, trimLast: Boolean, crop: Rect = Rect(0, 0, w, h)): Frame {
        val size = if (trimLast) stride * (h - 1) + 4 * w else stride * h
        val buf = ByteBuffer.allocateDirect(size)
        for (i in 0 until size) buf.put(i, 0x5A.toByte())
        for (y in 0 until h) for (x in 0 until w) {
            val c = colour(x, y)
            val p = y * stride + 4 * x
            buf.put(p, (c shr 16).toByte())
            buf.put(p + 1, (c shr 8).toByte())
            buf.put(p + 2, c.toByte())
            buf.put(p + 3, (c ushr 24).toByte())
        }
        return Frame(buf, w, h, stride, rotation, crop)
    }

    /** Upright pixel (x, y) after rotating the stored w x h image clockwise by [degrees] (independent of the core). */
    private fun upright(degrees: Int, w: Int, h: Int, x: Int, y: Int): Int = when (degrees) {
        90 -> colour(y, h - 1 - x)
        180 -> colour(w - 1 - x, h - 1 - y)
        270 -> colour(w - 1 - y, x)
        else -> colour(x, y)
    }

    @Test
    fun paddedRowsAndEveryRotation() {
        val converter = FrameConverter()
        val w = 7
        val h = 5
        for (trim in listOf(false, true)) for (degrees in listOf(0, 90, 180, 270)) {
            val pixels = converter.convert(frame(w, h, 4 * w + 12, degrees, trim))
            assertEquals(w, pixels.width)
            assertEquals(h, pixels.height)
            assertArrayEquals("stored pixels, padding dropped (trim=$trim)", IntArray(w * h) { colour(it % w, it / w) },
                pixels.argb.copyOf(w * h))
            val o = Orientation.of(pixels.orientation, w, h)
            val uw = if (degrees % 180 == 0) w else h
            val uh = if (degrees % 180 == 0) h else w
            assertEquals("upright width at $degrees°", uw, o.uprightWidth)
            assertEquals("upright height at $degrees°", uh, o.uprightHeight)
            for (y in 0 until uh) for (x in 0 until uw) {
                assertEquals("$degrees°: upright ($x, $y)", upright(degrees, w, h, x, y), pixels.argb[o.index(x, y)])
            }
        }
    }

    @Test
    fun onlyTheCropRectIsKeptAndRotatedUpright() {
        val converter = FrameConverter()
        val w = 9
        val h = 7
        val crop = Rect(2, 1, 7, 5) // 5 x 4 pixels at (2, 1), in the unrotated frame
        for (trim in listOf(false, true)) for (degrees in listOf(0, 90)) {
            val pixels = converter.convert(frame(w, h, 4 * w + 8, degrees, trim, crop))
            assertEquals(5, pixels.width)
            assertEquals(4, pixels.height)
            assertArrayEquals("the crop's stored pixels (trim=$trim)",
                IntArray(20) { colour(2 + it % 5, 1 + it / 5) }, pixels.argb.copyOf(20))
            val o = Orientation.of(pixels.orientation, 5, 4)
            assertEquals(if (degrees == 0) 5 else 4, o.uprightWidth)
            // Rotated after cropping, as CameraX defines it: upright (0, 0) of a 90° frame is the crop's
            // bottom-left pixel.
            assertEquals(if (degrees == 0) colour(2, 1) else colour(2, 4), pixels.argb[o.index(0, 0)])
        }
        // A crop reaching the last row of a buffer that ends right after its last pixel.
        val bottom = converter.convert(frame(w, h, 4 * w + 8, 0, true, Rect(6, 5, 9, 7)))
        assertArrayEquals(IntArray(6) { colour(6 + it % 3, 5 + it / 3) }, bottom.argb.copyOf(6))
        // An empty crop rectangle means the whole frame.
        assertEquals(w, converter.convert(frame(w, h, 4 * w, 0, false, Rect())).width)
    }

    @Test
    fun reusesItsArrayAndRewindsTheBuffer() {
        val converter = FrameConverter()
        val f = frame(4, 3, 16, 0, false)
        val first = converter.convert(f).argb
        val second = converter.convert(f).argb // the same buffer again: it was rewound
        assertEquals(true, first === second)
        assertArrayEquals(IntArray(12) { colour(it % 4, it / 4) }, second)
    }
}
