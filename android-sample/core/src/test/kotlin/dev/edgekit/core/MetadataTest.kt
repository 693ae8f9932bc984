package dev.edgekit.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.ByteArrayOutputStream
import java.io.File
import java.util.zip.ZipEntry
import java.util.zip.ZipOutputStream

/** Metadata and packed files read from real `.tflite` bytes, and refusals of broken ones. */
class MetadataTest {
    private val coral = "reference-models/google-coral-test_data/mobilenet_v2_1.0_224_quant.tflite"

    @Test
    fun coralModelLabelsEqualWhatPythonReads() {
        val info = MetadataReader.read(File(TestFiles.assets, coral).readBytes(), coral)
        val expected = TestFiles.keyed(File(TestFiles.parity, "google-coral-test_data__mobilenet_v2_1.0_224_quant.model.txt"))
        val labels = info.labels!!
        assertEquals(TestFiles.one(expected, "labels_count")[0].toInt(), labels.size)
        assertEquals(TestFiles.one(expected, "labels_sha256")[0], TestFiles.sha256(labels.joinToString("\n").toByteArray(Charsets.UTF_8)))
        assertEquals("imagenet_labels.txt", info.labelsFile)
        val input = info.metadata!!.inputs[0]
        assertEquals("RGB", input.colorSpace)
        assertTrue(info.packedFiles.containsKey("imagenet_labels.txt"))
    }

    @Test
    fun edgeKitModelCarriesItsPreprocessing() {
        val info = MetadataReader.read(File(TestFiles.parity, "tiny_probs.tflite").readBytes())
        val config = PreprocessConfig.fromMap(info.preprocessing!!)
        // Made under contract version 2 (and kept): its block names version 2's resize, which the app applies.
        assertEquals(PreprocessConfig(40, 56, CropMode.STRETCH, intArrayOf(0, 0, 0), PreprocessConfig.V2_RESIZE_FILTER), config)
        assertEquals(2, config.version)
        assertEquals("tiny_probs", info.metadata!!.name)
        assertEquals(listOf("daisy", "dandelion", "café ☕ rose"), info.labels)
        assertEquals("DESCRIPTIONS", info.metadata?.associatedFiles!!.first { it.name == MetadataReader.PREPROCESSING_FILE }.type)
    }

    @Test
    fun modelWithoutMetadataHasNone() {
        val bytes = File(TestFiles.assets, "reference-models/tflite-support/mobilenet_v2_1.0_224_quant.tflite").readBytes()
        val info = MetadataReader.read(bytes)
        assertNull(info.metadata)
        assertNull(info.labels)
    }

    @Test
    fun truncatedOrGarbageModelsAreRefusedWithTheirName() {
        val bytes = File(TestFiles.assets, coral).readBytes()
        for (broken in listOf(bytes.copyOfRange(0, 3000), ByteArray(64) { 0x7F }, ByteArray(2))) {
            try {
                MetadataReader.read(broken, "broken.tflite")
                fail("a broken model must be refused")
            } catch (e: ModelException) {
                assertTrue(e.message, e.message!!.startsWith("broken.tflite: corrupt"))
            }
        }
    }

    @Test
    fun missingLabelsFileIsReported() {
        val bytes = File(TestFiles.parity, "tiny_probs.tflite").readBytes()
        // Corrupt the end-of-central-directory signature: the zip disappears, the metadata still names labels.txt.
        val eocd = (bytes.size - 22 downTo 0).first { FlatBuffers.i32(bytes, it) == 0x06054b50 }
        val copy = bytes.copyOf()
        copy[eocd] = 0
        try {
            MetadataReader.read(copy, "nolabels.tflite")
            fail("metadata naming an absent labels file must be refused")
        } catch (e: ModelException) {
            assertTrue(e.message, e.message!!.contains("labels.txt") && e.message!!.contains("not packed"))
        }
    }

    private fun zip(vararg entries: Pair<String, ByteArray>, stored: Boolean = false): ByteArray {
        val bos = ByteArrayOutputStream()
        ZipOutputStream(bos).use { z ->
            for ((name, data) in entries) {
                val e = ZipEntry(name)
                if (stored) {
                    e.method = ZipEntry.STORED
                    e.size = data.size.toLong()
                    val crc = java.util.zip.CRC32()
                    crc.update(data)
                    e.crc = crc.value
                }
                z.putNextEntry(e)
                z.write(data)
                z.closeEntry()
            }
        }
        return bos.toByteArray()
    }

    @Test
    fun packedFilesAreReadInMemoryAfterAnyPrefix() {
        val prefix = ByteArray(1234) { (it * 7).toByte() }
        for (stored in listOf(true, false)) {
            val archive = zip("labels.txt" to "a\nb\n".toByteArray(), "dir/evil.txt" to ByteArray(3),
                "../up.txt" to ByteArray(1), stored = stored)
            val files = PackedFiles.read(prefix + archive)
            assertEquals(setOf("labels.txt"), files.keys)
            assertEquals("a\nb\n", String(files["labels.txt"]!!))
        }
        assertEquals(emptyMap<String, ByteArray>(), PackedFiles.read(prefix))
    }

    @Test
    fun corruptPackedFileIsRefused() {
        val archive = zip("labels.txt" to ByteArray(5000) { 'x'.toByte() }, stored = true)
        archive[100] = 'y'.toByte() // inside the stored data: the CRC no longer matches
        try {
            PackedFiles.read(ByteArray(10) + archive, "m.tflite")
            fail("a corrupt member must be refused")
        } catch (e: ModelException) {
            assertTrue(e.message, e.message!!.contains("'labels.txt' is corrupt"))
        }
    }
}
