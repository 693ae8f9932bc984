package dev.edgekit.sample

import android.content.res.AssetManager
import java.io.FileInputStream
import java.nio.MappedByteBuffer
import java.nio.channels.FileChannel

/** The models bundled in the app's assets, and memory-mapped loading (no heap or direct-buffer copy). */
object ModelFiles {
    const val DEFAULT_MODEL = "model.tflite"
    const val LABELS = "labels.txt"

    /**
     * Every `.tflite` at the top of the assets, sorted, [DEFAULT_MODEL] first: `edge-convert export` writes
     * `model.tflite`, other variants can sit beside it (`model_float32.tflite`, ...).
     */
    fun list(assets: AssetManager): List<String> {
        val names = (assets.list("") ?: emptyArray()).filter { it.endsWith(".tflite") }.sorted()
        return names.filter { it == DEFAULT_MODEL } + names.filter { it != DEFAULT_MODEL }
    }

    /**
     * Map asset [name] read-only. It must be stored uncompressed in the APK (`noCompress += "tflite"` in
     * build.gradle.kts), else `openFd` throws `FileNotFoundException`.
     */
    fun map(assets: AssetManager, name: String): MappedByteBuffer {
        val fd = assets.openFd(name)
        try {
            FileInputStream(fd.fileDescriptor).use { stream ->
                return stream.channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
            }
        } finally {
            fd.close()
        }
    }
}
