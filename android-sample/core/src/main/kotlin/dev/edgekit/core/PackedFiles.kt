package dev.edgekit.core

import java.util.zip.CRC32
import java.util.zip.DataFormatException
import java.util.zip.Inflater

/**
 * The files packed into a `.tflite` by the metadata writer: a zip archive appended after the FlatBuffer. Read in
 * memory from the central directory at the end of the file (like Python's `zipfile`, which also allows for the
 * offset of an archive appended to other data); nothing is extracted to disk.
 *
 * Only plain file names are returned (no folders, `..`, absolute paths or drive letters). Sizes are bounded; an
 * over-large or corrupt member raises [ModelException]. A model without an archive gives an empty map.
 */
object PackedFiles {
    const val MAX_FILE_BYTES = 16 * 1024 * 1024
    const val MAX_TOTAL_BYTES = 64 * 1024 * 1024
    const val MAX_FILES = 256

    private const val EOCD_SIG = 0x06054b50
    private const val CENTRAL_SIG = 0x02014b50
    private const val LOCAL_SIG = 0x04034b50
    private const val EOCD_SIZE = 22
    private const val MAX_COMMENT = 65535

    /** `name -> bytes` of every plain-named member of the zip appended to [model]. */
    fun read(model: ByteArray, source: String = "<model bytes>"): Map<String, ByteArray> {
        val eocd = findEndRecord(model)
        if (eocd < 0) return emptyMap()
        val entries = FlatBuffers.u16(model, eocd + 10)
        val cdSize = FlatBuffers.u32(model, eocd + 12)
        val cdOffset = FlatBuffers.u32(model, eocd + 16)
        val concat = eocd - cdSize - cdOffset // bytes before the archive (the FlatBuffer)
        if (concat < 0) return emptyMap()
        if (entries > MAX_FILES) {
            throw ModelException("$source: $entries files packed into the model (limit $MAX_FILES).")
        }
        val out = LinkedHashMap<String, ByteArray>()
        var total = 0L
        var p = (cdOffset + concat)
        for (e in 0 until entries) {
            try {
                FlatBuffers.check(model, p, 46)
                if (FlatBuffers.i32(model, p.toInt()) != CENTRAL_SIG) return emptyMap()
                val at = p.toInt()
                val flags = FlatBuffers.u16(model, at + 8)
                val method = FlatBuffers.u16(model, at + 10)
                val crc = FlatBuffers.u32(model, at + 16)
                val compressed = FlatBuffers.u32(model, at + 20)
                val size = FlatBuffers.u32(model, at + 24)
                val nameLen = FlatBuffers.u16(model, at + 28)
                val extraLen = FlatBuffers.u16(model, at + 30)
                val commentLen = FlatBuffers.u16(model, at + 32)
                val localOffset = FlatBuffers.u32(model, at + 42)
                FlatBuffers.check(model, at + 46L, nameLen.toLong())
                val name = String(model, at + 46, nameLen, if (flags and 0x800 != 0) Charsets.UTF_8 else Charsets.ISO_8859_1)
                p += 46L + nameLen + extraLen + commentLen
                if (name.endsWith("/") || !isPlainName(name)) continue
                if (size > MAX_FILE_BYTES || total + size > MAX_TOTAL_BYTES) {
                    throw ModelException(
                        "$source: packed file '$name' is $size bytes, over the $MAX_FILE_BYTES-byte limit for " +
                            "metadata files; re-export the model with a smaller labels file."
                    )
                }
                if (flags and 1 != 0) throw ModelException("$source: packed file '$name' is encrypted; re-export it.")
                val data = member(model, localOffset + concat, method, compressed, size.toInt(), name, source)
                val check = CRC32()
                check.update(data)
                if (check.value != crc) {
                    throw ModelException("$source: packed file '$name' is corrupt (CRC mismatch); re-export the model.")
                }
                total += data.size
                out[name] = data
            } catch (ex: FlatBufferException) {
                throw ModelException("$source: the zip of packed files is truncated (${ex.message}); re-export it.", ex)
            }
        }
        return out
    }

    private fun member(
        model: ByteArray, local: Long, method: Int, compressed: Long, size: Int, name: String, source: String
    ): ByteArray {
        FlatBuffers.check(model, local, 30)
        if (FlatBuffers.i32(model, local.toInt()) != LOCAL_SIG) {
            throw ModelException("$source: packed file '$name' has no local header; re-export the model.")
        }
        val start = local + 30 + FlatBuffers.u16(model, local.toInt() + 26) + FlatBuffers.u16(model, local.toInt() + 28)
        FlatBuffers.check(model, start, compressed)
        return when (method) {
            0 -> {
                if (compressed != size.toLong()) throw ModelException("$source: packed file '$name' has inconsistent sizes.")
                model.copyOfRange(start.toInt(), start.toInt() + size)
            }
            8 -> inflate(model, start.toInt(), compressed.toInt(), size, name, source)
            else -> throw ModelException("$source: packed file '$name' uses zip method $method; re-export the model.")
        }
    }

    private fun inflate(model: ByteArray, start: Int, length: Int, size: Int, name: String, source: String): ByteArray {
        val inflater = Inflater(true)
        try {
            inflater.setInput(model, start, length)
            val out = ByteArray(size)
            var n = 0
            while (n < size) {
                val got = inflater.inflate(out, n, size - n)
                if (got == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) break
                n += got
            }
            if (n != size) throw ModelException("$source: packed file '$name' is shorter than its header says; re-export it.")
            return out
        } catch (e: DataFormatException) {
            throw ModelException("$source: packed file '$name' is corrupt (${e.message}); re-export the model.", e)
        } finally {
            inflater.end()
        }
    }

    private fun findEndRecord(model: ByteArray): Int {
        val last = model.size - EOCD_SIZE
        val first = Math.max(0, last - MAX_COMMENT)
        var p = last
        while (p >= first) {
            if (model[p].toInt() == 0x50 && model[p + 1].toInt() == 0x4b && FlatBuffers.i32(model, p) == EOCD_SIG &&
                p + EOCD_SIZE + FlatBuffers.u16(model, p + 20) <= model.size
            ) return p
            p--
        }
        return -1
    }

    /** Whether [name] could be a metadata associated file (no folders, no `..`, no drive or absolute path). */
    fun isPlainName(name: String): Boolean =
        name.isNotEmpty() && name.indexOf('/') < 0 && name.indexOf('\\') < 0 && name != "." && name != ".." &&
            name.indexOf(':') < 0
}
