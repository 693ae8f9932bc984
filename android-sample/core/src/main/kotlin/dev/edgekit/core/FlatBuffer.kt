package dev.edgekit.core

/** A reference outside the buffer, or another structural error in a FlatBuffer. */
class FlatBufferException(message: String) : Exception(message)

/**
 * One table of a FlatBuffer, read with bounds checks on every access (a corrupt model gives a
 * [FlatBufferException], never an `IndexOutOfBoundsException` or a huge allocation).
 *
 * Field `slot` numbers are the vtable byte offsets of the generated code: 4 for field 0, 6 for field 1, ...
 */
class FlatTable(val buf: ByteArray, val pos: Int) {
    private val vtable: Int
    private val vsize: Int

    init {
        vtable = pos - FlatBuffers.i32(buf, pos)
        vsize = FlatBuffers.u16(buf, vtable)
    }

    private fun field(slot: Int): Int = if (slot >= vsize) 0 else FlatBuffers.u16(buf, vtable + slot)

    private fun indirect(slot: Int): Int {
        val off = field(slot)
        if (off == 0) return -1
        val p = pos + off
        return checkedAdd(p, FlatBuffers.u32(buf, p))
    }

    fun hasField(slot: Int): Boolean = field(slot) != 0

    fun u8(slot: Int, default: Int = 0): Int {
        val off = field(slot)
        return if (off == 0) default else FlatBuffers.u8(buf, pos + off)
    }

    fun i8(slot: Int, default: Int = 0): Int {
        val off = field(slot)
        return if (off == 0) default else FlatBuffers.u8(buf, pos + off).toByte().toInt()
    }

    fun u32(slot: Int, default: Long = 0): Long {
        val off = field(slot)
        return if (off == 0) default else FlatBuffers.u32(buf, pos + off)
    }

    fun u64(slot: Int, default: Long = 0): Long {
        val off = field(slot)
        return if (off == 0) default else FlatBuffers.i64(buf, pos + off)
    }

    fun string(slot: Int): String? {
        val p = indirect(slot)
        if (p < 0) return null
        val n = FlatBuffers.u32(buf, p)
        FlatBuffers.check(buf, p + 4L, n)
        return String(buf, p + 4, n.toInt(), Charsets.UTF_8)
    }

    fun table(slot: Int): FlatTable? {
        val p = indirect(slot)
        return if (p < 0) null else FlatTable(buf, p)
    }

    /** `[start, count]` of a vector field with elements of [elemSize] bytes (`[0, 0]` when absent). */
    fun vector(slot: Int, elemSize: Int): IntArray {
        val p = indirect(slot)
        if (p < 0) return intArrayOf(0, 0)
        val n = FlatBuffers.u32(buf, p)
        FlatBuffers.check(buf, p + 4L, n * elemSize)
        return intArrayOf(p + 4, n.toInt())
    }

    fun tables(slot: Int): List<FlatTable> {
        val v = vector(slot, 4)
        val out = ArrayList<FlatTable>(v[1])
        for (i in 0 until v[1]) {
            val at = v[0] + 4 * i
            out.add(FlatTable(buf, checkedAdd(at, FlatBuffers.u32(buf, at))))
        }
        return out
    }

    fun floats(slot: Int): FloatArray {
        val v = vector(slot, 4)
        return FloatArray(v[1]) { java.lang.Float.intBitsToFloat(FlatBuffers.i32(buf, v[0] + 4 * it)) }
    }

    private fun checkedAdd(p: Int, offset: Long): Int {
        val target = p + offset
        FlatBuffers.check(buf, target, 4)
        return target.toInt()
    }
}

/** Little-endian primitive reads with bounds checks. */
object FlatBuffers {
    fun check(buf: ByteArray, pos: Long, size: Long) {
        if (pos < 0 || size < 0 || pos + size > buf.size) {
            throw FlatBufferException("reference outside the file (offset $pos, size $size, file ${buf.size} bytes)")
        }
    }

    fun u8(buf: ByteArray, pos: Int): Int {
        check(buf, pos.toLong(), 1)
        return buf[pos].toInt() and 0xFF
    }

    fun u16(buf: ByteArray, pos: Int): Int {
        check(buf, pos.toLong(), 2)
        return (buf[pos].toInt() and 0xFF) or ((buf[pos + 1].toInt() and 0xFF) shl 8)
    }

    fun i32(buf: ByteArray, pos: Int): Int {
        check(buf, pos.toLong(), 4)
        return (buf[pos].toInt() and 0xFF) or ((buf[pos + 1].toInt() and 0xFF) shl 8) or
            ((buf[pos + 2].toInt() and 0xFF) shl 16) or ((buf[pos + 3].toInt() and 0xFF) shl 24)
    }

    fun u32(buf: ByteArray, pos: Int): Long = i32(buf, pos).toLong() and 0xFFFFFFFFL

    fun i64(buf: ByteArray, pos: Int): Long {
        check(buf, pos.toLong(), 8)
        return u32(buf, pos) or (u32(buf, pos + 4) shl 32)
    }

    /** The root table of the FlatBuffer in [buf]. */
    fun root(buf: ByteArray): FlatTable {
        val p = u32(buf, 0)
        check(buf, p, 4)
        return FlatTable(buf, p.toInt())
    }
}
