package dev.edgekit.core

import java.io.File
import java.security.MessageDigest
import java.util.zip.GZIPInputStream

/** Where the tests find the repository's golden files, the parity files and the shared test assets. */
object TestFiles {
    /** The repository root: `-Dedgekit.repo`, else the first parent of the working directory with tests/golden. */
    val repo: File by lazy {
        val given = System.getProperty("edgekit.repo")
        if (given != null) return@lazy File(given).absoluteFile
        var dir: File? = File("").absoluteFile
        while (dir != null && !File(dir, "tests/golden/manifest.json").isFile) dir = dir.parentFile
        dir ?: throw IllegalStateException("cannot find the repository root (tests/golden); pass -Dedgekit.repo=PATH")
    }

    /** `$EDGE_KIT_ASSETS`, else `-Dedgekit.assets`, else `../shared/assets` beside the repository. */
    val assets: File by lazy {
        val env = System.getenv("EDGE_KIT_ASSETS") ?: System.getProperty("edgekit.assets")
        val dir = if (env != null) File(env) else File(repo.parentFile, "shared/assets")
        if (!dir.isDirectory) throw IllegalStateException("test assets not found at $dir; set EDGE_KIT_ASSETS")
        dir
    }

    val golden: File get() = File(repo, "tests/golden")
    val parity: File get() = File(repo, "android-sample/core/src/test/resources/parity")

    /** A parity model file by its `model` line: `parity/NAME` (beside the parity files), `repo:PATH` (a model
     *  committed elsewhere in the repository, e.g. the cross-CPU parity models) or a path in the shared assets. */
    fun model(rel: String): File = when {
        rel.startsWith("parity/") -> File(parity, rel.removePrefix("parity/"))
        rel.startsWith("repo:") -> File(repo, rel.removePrefix("repo:"))
        else -> File(assets, rel)
    }

    fun gunzip(file: File): ByteArray = GZIPInputStream(file.inputStream()).use { it.readBytes() }

    fun sha256(bytes: ByteArray): String =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { String.format("%02x", it) }

    /** Raw RGBA bytes (H x W x 4) as Android's `Bitmap.getPixels` ARGB ints. */
    fun rgbaToArgb(rgba: ByteArray): IntArray = IntArray(rgba.size / 4) {
        val r = rgba[4 * it].toInt() and 0xFF
        val g = rgba[4 * it + 1].toInt() and 0xFF
        val b = rgba[4 * it + 2].toInt() and 0xFF
        val a = rgba[4 * it + 3].toInt() and 0xFF
        (a shl 24) or (r shl 16) or (g shl 8) or b
    }

    /** `key -> list of tab-separated value lists` of a parity file (keys may repeat). */
    fun keyed(file: File): Map<String, List<List<String>>> {
        val out = LinkedHashMap<String, MutableList<List<String>>>()
        for (line in String(file.readBytes(), Charsets.UTF_8).split("\n")) {
            if (line.length == 0) continue
            val parts = line.split("\t")
            out.getOrPut(parts[0]) { ArrayList() }.add(parts.subList(1, parts.size))
        }
        return out
    }

    fun one(map: Map<String, List<List<String>>>, key: String): List<String> =
        map[key]?.firstOrNull() ?: throw AssertionError("parity file has no '$key' line")

    fun hex(text: String): ByteArray = ByteArray(text.length / 2) {
        ((Character.digit(text[2 * it], 16) shl 4) or Character.digit(text[2 * it + 1], 16)).toByte()
    }
}
