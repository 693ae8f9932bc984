package dev.edgekit.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File

/** Every golden case of tests/golden must preprocess to the byte-identical expected output (the contract). */
class GoldenPreprocessTest {
    private fun cases(): List<Map<*, *>> {
        val manifest = MiniJson.parse(String(File(TestFiles.golden, "manifest.json").readBytes(), Charsets.UTF_8))
        val cases = (manifest as Map<*, *>)["cases"] as List<*>
        return cases.map { it as Map<*, *> }
    }

    @Test
    fun everyGoldenCaseIsByteIdentical() {
        val all = cases()
        assertTrue("expected at least 30 golden cases, found ${all.size}", all.size >= 30)
        val failures = ArrayList<String>()
        for (case in all) {
            val name = case["name"] as String
            val config = PreprocessConfig.fromMap(case["config"] as Map<*, *>)
            val width = (case["stored_width"] as Long).toInt()
            val height = (case["stored_height"] as Long).toInt()
            val orientation = (case["orientation"] as Long).toInt()
            val rgba = TestFiles.gunzip(File(TestFiles.golden, case["rgba"] as String))
            assertEquals("$name: rgba size", width * height * 4, rgba.size)
            val expected = File(TestFiles.golden, case["expected"] as String).readBytes()
            assertEquals("$name: manifest SHA-256 of .out", case["expected_sha256"], TestFiles.sha256(expected))
            val box = case["crop_box"] as List<*>?
            if (box != null) { // worked by hand in make_golden.py, where the centre crop does not divide
                val swap = orientation in 5..8
                val upright = Preprocessor.cropBox(if (swap) height else width, if (swap) width else height,
                    config.width, config.height, config.crop)
                assertEquals("$name: crop box (x0, y0, width, height)", box.map { (it as Long).toInt() }, upright.toList())
            }
            val got = Preprocessor.preprocess(TestFiles.rgbaToArgb(rgba), width, height, orientation, config)
            if (!got.contentEquals(expected)) {
                val first = got.indices.first { got[it] != expected[it] }
                val px = first / 3
                failures.add(
                    "$name: first difference at pixel (${px % config.width}, ${px / config.width}) channel " +
                        "${first % 3}: got ${got[first].toInt() and 0xFF}, expected ${expected[first].toInt() and 0xFF}"
                )
            }
        }
        if (failures.isNotEmpty()) fail("${failures.size} golden cases differ:\n" + failures.joinToString("\n"))
    }

    @Test
    fun outputBufferIsReusedAndWrongSizesAreRefused() {
        val config = PreprocessConfig(4, 6)
        val out = ByteArray(4 * 6 * 3)
        val pixels = IntArray(10 * 7) { 0xFF102030.toInt() }
        val same = Preprocessor.preprocessInto(pixels, 10, 7, 1, config, out)
        assertTrue(same === out)
        assertEquals(0x10, out[0].toInt())
        assertEquals(0x30, out[out.size - 1].toInt())
        try {
            Preprocessor.preprocess(IntArray(5), 10, 7, 1, config)
            fail("a pixel array of the wrong size must be refused")
        } catch (e: ImageException) {
            assertTrue(e.message, e.message!!.contains("expected 70 pixels"))
        }
    }

    @Test
    fun transparentPixelsTakeTheBackground() {
        val clear = IntArray(3 * 3) { 0x00FF0000 } // fully transparent red
        val onBlue = Preprocessor.preprocess(clear, 3, 3, 1, PreprocessConfig(1, 1, background = intArrayOf(0, 0, 255)))
        assertEquals(listOf(0, 0, 255), onBlue.map { it.toInt() and 0xFF })
    }

    @Test
    fun rotationDegreesMapToExifTags() {
        assertEquals(1, Orientation.tagForRotation(0))
        assertEquals(6, Orientation.tagForRotation(90))
        assertEquals(3, Orientation.tagForRotation(180))
        assertEquals(8, Orientation.tagForRotation(270))
        assertEquals(8, Orientation.tagForRotation(-90))
    }
}
