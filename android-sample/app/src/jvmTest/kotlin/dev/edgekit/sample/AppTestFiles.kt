package dev.edgekit.sample

import dev.edgekit.core.MiniJson
import dev.edgekit.core.PreprocessConfig
import dev.edgekit.core.Preprocessor
import dev.edgekit.core.TestFiles
import java.io.File

/** Golden cases of tests/golden/manifest.json, for the app-layer tests. */
object Golden {
    class Case(val name: String, val source: File, val config: PreprocessConfig, val orientation: Int,
               val width: Int, val height: Int) {
        /** The stored pixels Python decoded (`<case>.rgba.gz`) as `Bitmap.getPixels` ARGB. */
        val argb: IntArray get() = TestFiles.rgbaToArgb(TestFiles.gunzip(File(TestFiles.golden, "$name.rgba.gz")))
        /** The contract's output (`<case>.out`). */
        val expected: ByteArray get() = File(TestFiles.golden, "$name.out").readBytes()
    }

    val cases: Map<String, Case> by lazy {
        val manifest = MiniJson.parse(String(File(TestFiles.golden, "manifest.json").readBytes(), Charsets.UTF_8)) as Map<*, *>
        (manifest["cases"] as List<*>).map { it as Map<*, *> }.map {
            val name = it["name"] as String
            name to Case(name, File(TestFiles.golden, it["source"] as String),
                PreprocessConfig.fromMap(it["config"] as Map<*, *>), (it["orientation"] as Long).toInt(),
                (it["stored_width"] as Long).toInt(), (it["stored_height"] as Long).toInt())
        }.toMap()
    }

    fun case(name: String): Case = cases[name] ?: throw AssertionError("golden case $name missing; run make_golden.py")

    /** The contract's output for [pixels] (what the app feeds the model). */
    fun preprocess(pixels: Pixels, config: PreprocessConfig): ByteArray =
        Preprocessor.preprocessInto(pixels.argb, pixels.width, pixels.height, pixels.orientation, config,
            ByteArray(config.height * config.width * 3))
}
