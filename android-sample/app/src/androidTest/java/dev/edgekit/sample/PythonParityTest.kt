package dev.edgekit.sample

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import androidx.exifinterface.media.ExifInterface
import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import java.security.MessageDigest

/**
 * On a real device: the bundled model (app assets `model.tflite`) classifies the golden photos as Python's
 * `device.Classifier` does (expectations from tests/android/make_device_expectations.py).
 *
 * Pixels are byte-identical by contract (PNG decoding is lossless and the core is tested against the golden
 * vectors), but int8/uint8 kernels differ between CPUs and runtimes (XNNPACK vs reference kernels, ARM vs x86):
 * two runtimes were measured to differ by up to 14/255 in one score. Hence:
 *  - every Python top-5 score must be matched within [TOLERANCE] = 16/255 by the app's score for that class;
 *  - the app's top-1 must equal Python's whenever Python's top-1 leads its top-2 by more than 2 x [TOLERANCE]
 *    (closer calls may legitimately swap).
 * CPU only: the GPU delegate computes in fp16 and is not expected to meet this tolerance.
 */
@RunWith(AndroidJUnit4::class)
class PythonParityTest {
    private lateinit var classifier: ModelClassifier
    private lateinit var expectations: List<String>

    @Before
    fun setUp() {
        val target = InstrumentationRegistry.getInstrumentation().targetContext
        val testContext = InstrumentationRegistry.getInstrumentation().context
        val model = try {
            target.assets.open(ModelFiles.DEFAULT_MODEL).use { it.readBytes() }
        } catch (e: java.io.IOException) {
            fail("app assets have no model.tflite: run `edge-convert export <run>` first"); return
        }
        val lines = try {
            testContext.assets.open(EXPECTED).use { String(it.readBytes(), Charsets.UTF_8) }.split("\n").filter { it.isNotEmpty() }
        } catch (e: java.io.IOException) {
            fail("androidTest assets have no $EXPECTED: run tests/android/make_device_expectations.py"); return
        }
        val sha = MessageDigest.getInstance("SHA-256").digest(model).joinToString("") { "%02x".format(it) }
        assertEquals("$EXPECTED was made for another model: rerun tests/android/make_device_expectations.py",
            lines[0].substringAfter('\t'), sha)
        expectations = lines.drop(1)
        assertTrue("no photos in $EXPECTED", expectations.isNotEmpty())
        val mapped = ModelFiles.map(target.assets, ModelFiles.DEFAULT_MODEL) // as the app loads it
        val runner = LiteRtRunner(mapped, useGpu = false, threads = 2, source = ModelFiles.DEFAULT_MODEL)
        classifier = ModelClassifier(mapped, runner, ModelFiles.DEFAULT_MODEL)
    }

    @After
    fun tearDown() {
        if (this::classifier.isInitialized) classifier.close()
    }

    @Test
    fun goldenPhotosMatchPythonWithinTolerance() {
        val assets = InstrumentationRegistry.getInstrumentation().context.assets
        val failures = ArrayList<String>()
        for (line in expectations) {
            val fields = line.split("\t")
            val file = fields[0]
            val expected = fields.drop(1).map { f ->
                val index = f.substringBefore(':').toInt()
                Triple(index, f.substring(f.indexOf(':') + 1, f.lastIndexOf(':')), f.substringAfterLast(':').toFloat())
            }
            val options = BitmapFactory.Options().apply { inPreferredConfig = Bitmap.Config.ARGB_8888 }
            val bitmap = assets.open(file).use { BitmapFactory.decodeStream(it, null, options) }
                ?: throw AssertionError("$file: BitmapFactory cannot decode it")
            val orientation = assets.open(file).use {
                ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
            }
            val pixels = PhotoLoader.fromBitmap(bitmap, orientation)
            val result = classifier.classify(pixels.argb, pixels.width, pixels.height, pixels.orientation)
            for ((index, label, score) in expected) {
                assertEquals("$file: label of class $index", label, classifier.core.labels[index])
                val got = result.scores[index]
                if (Math.abs(got - score) > TOLERANCE) failures.add("$file: '$label' scored $got, Python $score")
            }
            val margin = expected[0].third - (expected.getOrNull(1)?.third ?: 0f)
            if (margin > 2 * TOLERANCE && result.predictions.firstOrNull()?.index != expected[0].first) {
                failures.add("$file: top-1 '${result.predictions.firstOrNull()?.label}', Python '${expected[0].second}'")
            }
        }
        if (failures.isNotEmpty()) fail("${failures.size} differences beyond tolerance:\n" + failures.joinToString("\n"))
    }

    @Test
    fun closingTwiceIsSafeAndClassifyingAfterCloseIsRefused() {
        classifier.close()
        classifier.close()
        try {
            classifier.classify(IntArray(4) { -1 }, 2, 2, 1)
            fail("classify after close must be refused")
        } catch (e: IllegalStateException) {
            assertTrue(e.message!!.contains("closed"))
        }
    }

    companion object {
        const val EXPECTED = "expected_python.tsv"
        const val TOLERANCE = 16f / 255f
    }
}
