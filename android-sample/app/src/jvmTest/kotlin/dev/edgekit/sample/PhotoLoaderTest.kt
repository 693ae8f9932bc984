package dev.edgekit.sample

import android.content.ContentResolver
import android.net.Uri
import dev.edgekit.core.PreprocessConfig
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.awt.image.BufferedImage
import java.io.File
import java.io.IOException
import javax.imageio.ImageIO

/**
 * The gallery path: `PhotoLoader.load` (bounds pass, EXIF orientation, decode, getPixels) through the JVM stand-in
 * of BitmapFactory, which returns null from the bounds pass as Android does, against the golden vectors; large
 * JPEGs through the sampled decode (`inSampleSize`) that a phone's 12 MP photos take.
 */
class PhotoLoaderTest {
    private val resolver = ContentResolver()

    private fun load(case: Golden.Case): Pixels = PhotoLoader.load(resolver, Uri.fromFile(case.source), case.config)

    private fun assertGolden(case: Golden.Case) {
        val pixels = load(case)
        assertEquals("${case.name}: width", case.width, pixels.width)
        assertEquals("${case.name}: height", case.height, pixels.height)
        assertEquals("${case.name}: EXIF orientation", case.orientation, pixels.orientation)
        assertArrayEquals("${case.name}: stored pixels", case.argb, pixels.argb)
        assertArrayEquals("${case.name}: model input", case.expected, Golden.preprocess(pixels, case.config))
    }

    @Test
    fun pngGivesTheGoldenBytes() {
        assertGolden(Golden.case("exif_orientation_6_123x77_64")) // EXIF 6 in a PNG eXIf chunk
        assertGolden(Golden.case("rgba_partial_alpha_301x211_96")) // straight alpha composited by the core
        assertGolden(Golden.case("grayscale_8bit_257x190_96"))
    }

    @Test
    fun jpegGivesTheGoldenBytes() {
        assertGolden(Golden.case("jpeg_srgb_320x240_224"))
    }

    @Test
    fun displayP3PhotoIsConvertedToSrgb() {
        val case = Golden.case("jpeg_display_p3_320x240_224")
        val pixels = load(case)
        val golden = case.argb
        // The decoders' colour engines differ (littlecms in Pillow, the JVM's CMM here, skcms on Android) by a
        // level or two, as JPEG IDCTs do; the rule is the same: sRGB through the embedded profile.
        var worst = 0
        var unconvertedWorst = 0
        for (i in golden.indices) {
            for (shift in intArrayOf(16, 8, 0)) {
                worst = maxOf(worst, Math.abs((pixels.argb[i] shr shift and 0xFF) - (golden[i] shr shift and 0xFF)))
            }
        }
        assertTrue("P3 photo: decoded sRGB differs from Python's by $worst levels (> 2)", worst <= 2)
        // Python's converted pixels through the Kotlin contract give the golden bytes exactly.
        assertArrayEquals("P3 golden: model input", case.expected,
            Golden.preprocess(Pixels(golden, case.width, case.height, case.orientation), case.config))
        // ...and the conversion matters: the same photo read as if it were sRGB is far off.
        val plain = Golden.case("jpeg_srgb_320x240_224").argb // the same chart, stored without a profile
        for (i in golden.indices) {
            unconvertedWorst = maxOf(unconvertedWorst, Math.abs((plain[i] shr 16 and 0xFF) - (golden[i] shr 16 and 0xFF)))
        }
        assertTrue("the P3 conversion should move saturated colours a lot (moved $unconvertedWorst)", unconvertedWorst > 20)
    }

    @Test
    fun providerReturningNothingIsAnIOExceptionNamingThePhoto() {
        val uri = Uri.fromFile(Golden.case("jpeg_srgb_320x240_224").source)
        val empty = ContentResolver().apply { returnNull = true }
        try {
            PhotoLoader.load(empty, uri, PreprocessConfig(224, 224))
            fail("expected IOException")
        } catch (e: IOException) {
            assertTrue(e.message!!, e.message!!.contains(uri.toString()))
        }
    }

    @Test
    fun notAnImageIsAnIOException() {
        val file = File.createTempFile("not-a-photo", ".jpg")
        try {
            file.writeText("hello")
            PhotoLoader.load(resolver, Uri.fromFile(file), PreprocessConfig(224, 224))
            fail("expected IOException")
        } catch (e: IOException) {
            assertTrue(e.message!!, e.message!!.contains("not an image"))
        } finally {
            file.delete()
        }
    }

    /** Mean absolute difference of two byte arrays of the same size, in levels. */
    private fun meanDiff(a: ByteArray, b: ByteArray): Double {
        assertEquals(a.size, b.size)
        var sum = 0L
        for (i in a.indices) sum += Math.abs((a[i].toInt() and 0xFF) - (b[i].toInt() and 0xFF))
        return sum.toDouble() / a.size
    }

    @Test
    fun largeJpegIsDecodedAtTheContractsScale() {
        // 1920x1440: Python decodes it at 1/4 (480x360, libjpeg's DCT scaling), so must the app.
        val case = Golden.case("jpeg_dct_scaled_1920x1440_224")
        val pixels = load(case)
        assertEquals("decoded width", case.width, pixels.width)
        assertEquals("decoded height", case.height, pixels.height)
        assertNull("the contract's scale needs no note", pixels.note)
        // The stand-in reduces each 4x4 block to its mean, libjpeg by a scaled IDCT: a few levels apart on average
        // (a crop box or orientation taken from the full-size photo would be far off).
        val diff = meanDiff(case.expected, Golden.preprocess(pixels, case.config))
        assertTrue("model input differs from Python's by $diff levels on average", diff < 6.0)
    }

    @Test
    fun twelveMegapixelPhoneJpegTakesTheSampledPath() {
        val file = File.createTempFile("phone-12mp", ".jpg")
        try {
            val w = 4000
            val h = 3000
            val image = BufferedImage(w, h, BufferedImage.TYPE_INT_RGB)
            for (y in 0 until h) for (x in 0 until w) {
                image.setRGB(x, y, ((x * 255 / w) shl 16) or ((y * 255 / h) shl 8) or (((x / 500 + y / 500) % 2) * 200))
            }
            ImageIO.write(image, "jpg", file)
            val config = PreprocessConfig(224, 224)
            val pixels = PhotoLoader.load(resolver, Uri.fromFile(file), config)
            // The contract's DCT scale for 4000x3000 at 224 is 1/8: 500x375, not 48 MB of pixels.
            assertEquals(500, pixels.width)
            assertEquals(375, pixels.height)
            assertNull(pixels.note)
            // What the model sees is what the full-size decode gives, within a few levels (both reductions
            // average the same pixels).
            val full = android.graphics.BitmapFactory.decodeStream(file.inputStream(), null, null)!!
            val fullInput = Golden.preprocess(PhotoLoader.fromBitmap(full, 1), config)
            val diff = meanDiff(fullInput, Golden.preprocess(pixels, config))
            assertTrue("sampled decode differs from the full decode by $diff levels on average", diff < 3.0)
        } finally {
            file.delete()
        }
    }

    @Test
    fun sampleSizeFollowsTheContractAndBoundsMemory() {
        val case = Golden.case("jpeg_dct_scaled_1920x1440_224")
        // The JPEG DCT scale of the contract (the golden stored pixels were decoded at that scale by Python).
        val scale = PhotoLoader.sampleSize(1920, 1440, true, 1, case.config)
        assertEquals((1920 + scale - 1) / scale, case.width)
        assertEquals(1, PhotoLoader.sampleSize(1920, 1440, false, 1, case.config)) // PNG: full size
        assertEquals(2, PhotoLoader.sampleSize(8000, 6000, false, 1, case.config)) // 48 MP PNG: memory bound
    }
}
