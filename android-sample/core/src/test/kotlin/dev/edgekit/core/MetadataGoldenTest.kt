package dev.edgekit.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test
import java.io.File

/**
 * The core's MetadataReader reads edge-kit-written metadata as tflite-support 0.4.4 (the format's reference) does:
 * tests/golden/metadata holds tiny models of every variant with metadata from edge-kit's writer, each with the JSON
 * tflite-support's MetadataDisplayer printed for it (tests/golden/make_metadata_golden.py).
 */
class MetadataGoldenTest {
    private val variants = listOf("float32", "float16", "dynamic", "int8", "int8_int8io")
    private val dir: File get() = File(TestFiles.golden, "metadata")

    private fun map(value: Any?): Map<*, *> = value as Map<*, *>
    private fun list(value: Any?): List<*> = value as List<*>
    private fun floats(value: Any?): FloatArray? =
        if (value == null) null else list(value).map { (it as Number).toFloat() }.toFloatArray()

    private fun assertFiles(expected: Any?, actual: List<AssociatedFile>, what: String) {
        val files = if (expected == null) emptyList<Any?>() else list(expected)
        assertEquals(what, files.size, actual.size)
        for ((i, f) in files.withIndex()) {
            assertEquals(what, map(f)["name"], actual[i].name)
            assertEquals(what, map(f)["type"], actual[i].type)
            assertEquals(what, map(f)["description"] ?: "", actual[i].description)
        }
    }

    private fun assertTensor(expected: Map<*, *>, actual: TensorMetadata, what: String) {
        assertEquals(what, expected["name"], actual.name)
        assertEquals(what, expected["description"], actual.description)
        val content = map(expected["content"])
        val colorSpace = if (content["content_properties_type"] == "ImageProperties")
            map(content["content_properties"])["color_space"] else null
        assertEquals(what, colorSpace, actual.colorSpace)
        val units = expected["process_units"]
        if (units == null) {
            assertNull(what, actual.mean)
        } else {
            val options = map(map(list(units)[0])["options"])
            assertArrayEquals(what, floats(options["mean"]), actual.mean!!, 0f)
            assertArrayEquals(what, floats(options["std"]), actual.std!!, 0f)
        }
        val stats = map(expected["stats"])
        assertEquals(what, floats(stats["min"])?.toList(), actual.statsMin?.toList())
        assertEquals(what, floats(stats["max"])?.toList(), actual.statsMax?.toList())
        assertFiles(expected["associated_files"], actual.associatedFiles, "$what files")
    }

    @Test
    fun coreReaderSeesWhatTfliteSupportSees() {
        for (variant in variants) {
            val golden = map(MiniJson.parse(String(File(dir, "tiny_$variant.displayer.json").readBytes(), Charsets.UTF_8)))
            val info = MetadataReader.read(File(dir, "tiny_$variant.tflite").readBytes(), "tiny_$variant.tflite")
            val meta = info.metadata!!
            val expected = map(golden["metadata"])
            for ((key, actual) in listOf("name" to meta.name, "description" to meta.description,
                    "version" to meta.version, "author" to meta.author, "license" to meta.license,
                    "min_parser_version" to meta.minParserVersion)) {
                assertEquals("$variant $key", expected[key], actual)
            }
            assertFiles(expected["associated_files"], meta.associatedFiles, "$variant model files")
            val subgraph = map(list(expected["subgraph_metadata"])[0])
            assertTensor(map(list(subgraph["input_tensor_metadata"])[0]), meta.inputs[0], "$variant input")
            assertTensor(map(list(subgraph["output_tensor_metadata"])[0]), meta.outputs[0], "$variant output")

            val files = map(golden["files"])
            assertEquals(variant, golden["packed_files"], info.packedFiles.keys.toList())
            for ((name, text) in files) assertEquals("$variant $name", text, String(info.packedFiles[name]!!, Charsets.UTF_8))
            assertEquals(variant, "labels.txt", info.labelsFile)
            assertEquals(variant, Labels.parse(files["labels.txt"] as String), info.labels)
            assertEquals(variant, listOf("daisy", "dandelion", "café ☕ rose"), info.labels)
            val packed = map(MiniJson.parse(files["edge_kit_preprocessing.json"] as String))
            assertEquals(variant, PreprocessConfig.fromMap(packed), PreprocessConfig.fromMap(info.preprocessing!!))
            assertEquals(variant, 24, PreprocessConfig.fromMap(info.preprocessing!!).height)
            assertEquals(variant, 32, PreprocessConfig.fromMap(info.preprocessing!!).width)
        }
    }
}
