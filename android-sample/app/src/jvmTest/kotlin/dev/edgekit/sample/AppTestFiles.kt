package dev.edgekit.sample

import android.graphics.Rect
import androidx.camera.core.ImageInfo
import androidx.camera.core.ImageProxy
import dev.edgekit.core.MiniJson
import dev.edgekit.core.PreprocessConfig
import dev.edgekit.core.Preprocessor
import dev.edgekit.core.TestFiles
import java.io.File
import java.nio.ByteBuffer

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

/**
 * A CameraX RGBA_8888 frame (the stand-in [ImageProxy]) holding stored ARGB pixels of `width x height`, surrounded
 * by [border] junk pixels on every side, with rows padded to a wider stride; its crop rectangle is the pixels.
 */
class RgbaFrame(argb: IntArray, width: Int, height: Int, private val rotation: Int, border: Int = 0) : ImageProxy {
    private val w = width + 2 * border
    private val h = height + 2 * border
    private val stride = 4 * w + 12
    private val data: ByteBuffer = ByteBuffer.allocateDirect(stride * h)
    private val crop = Rect(border, border, border + width, border + height)
    var closed = false

    init {
        for (i in 0 until data.capacity()) data.put(i, 0x5A.toByte())
        for (y in 0 until height) for (x in 0 until width) {
            val c = argb[y * width + x]
            val p = (y + border) * stride + 4 * (x + border)
            data.put(p, (c shr 16).toByte())
            data.put(p + 1, (c shr 8).toByte())
            data.put(p + 2, c.toByte())
            data.put(p + 3, (c ushr 24).toByte())
        }
    }

    override fun getPlanes(): Array<ImageProxy.PlaneProxy> = arrayOf(object : ImageProxy.PlaneProxy {
        override fun getBuffer(): ByteBuffer = data
        override fun getRowStride(): Int = stride
        override fun getPixelStride(): Int = 4
    })
    override fun getWidth(): Int = w
    override fun getHeight(): Int = h
    override fun getCropRect(): Rect = crop
    override fun getImageInfo(): ImageInfo = object : ImageInfo {
        override fun getRotationDegrees(): Int = rotation
    }
    override fun close() { closed = true }
}
